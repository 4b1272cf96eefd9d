// On every page (the site sends no inline script or handler): a <select data-autosubmit> sends its
// form as soon as another option is chosen (the language menu).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
});

// A <form data-confirm="question"> asks before it is sent (e.g. cancelling a job); once accepted it
// carries confirm=1, so the server does not ask again. Without JS the server's own page asks.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches || !form.matches("form[data-confirm]")) return;
  if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); return; }
  if (!form.querySelector("input[name=confirm]")) {
    var input = document.createElement("input");
    input.type = "hidden"; input.name = "confirm"; input.value = "1";
    form.appendChild(input);
  }
});
