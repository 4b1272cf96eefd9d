// On every page (the site sends no inline script or handler): a <select data-autosubmit> sends its
// form as soon as another option is chosen (the language menu).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
});
