from django import template

register = template.Library()


@register.filter
def fields_named(form, names: str) -> list:
    """The bound fields named in a space-separated list, in that order; all visible ones if none are named."""
    if not names:
        shown = getattr(form, "display_fields", None)
        return [form[name] for name in shown] if shown else form.visible_fields()
    return [form[name] for name in names.split() if name in form.fields]
