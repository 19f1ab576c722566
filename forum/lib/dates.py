"""How dates are shown to people, everywhere: "3 December 2026" (machine-readable dates stay ISO 8601)."""

DAY = "j F Y"
DAY_AND_TIME = "j F Y, H:i"
