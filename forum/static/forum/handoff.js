// The last page of an embed's sign-in popup (forum/embed/views.py signin): hands the member's token
// to the page that opened the popup, only if that page is on the listed origin, then closes.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("forum-handoff").textContent);
  if (data.back) {
    location.replace(data.back); // signed in by leaving the page: back to it
  } else if (window.opener) {
    window.opener.postMessage({ type: "forum-token", token: data.token, name: data.name, state: data.state }, data.origin);
    window.close();
  } else {
    document.getElementById("handoff-status").textContent =
      "This window lost track of the page you came from: go back to it and choose “sign in by leaving this page”.";
  }
})();
