// Upload forms with a progress bar: the form is sent with XMLHttpRequest, whose upload events say how
// much has been sent. Works on every multipart form of the page that has a file input whose
// data-upload-* attributes hold the (translated) labels. Without this script the form posts as usual.
//
// The server answers JSON when asked (gallery homework: {"redirect"} or {"message"}); a server that
// answers HTML (the Django admin) is followed: a redirect means success, the same page again shows
// its own error messages.
(function () {
  "use strict";
  if (!window.FormData || !("upload" in new XMLHttpRequest())) return;

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }
  function withoutHash(url) { return url.split("#")[0]; }

  // Load `url`, also when it is this page with another #anchor (which alone would only scroll).
  function go(url) {
    var samePage = withoutHash(new URL(url, window.location.href).href) === withoutHash(window.location.href);
    window.location.assign(url);
    if (samePage) window.location.reload();
  }

  function enhance(form, input) {
    var labels = input.dataset;
    var box = document.createElement("div");
    box.className = "upload-progress";
    box.hidden = true;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", labels.uploadSending.replace("{percent}", "").replace(/[:：%\s]+$/, ""));
    var status = document.createElement("p");
    status.className = "upload-status";
    status.setAttribute("role", "status");
    var error = document.createElement("p");
    error.className = "upload-error";
    error.setAttribute("role", "alert");
    error.hidden = true;
    box.appendChild(bar);
    box.appendChild(status);
    var submitRow = form.querySelector("[type=submit]");
    var anchor = submitRow ? submitRow.closest(".submit-row") || submitRow : null;
    form.insertBefore(error, anchor && anchor.parentNode === form ? anchor : null);
    form.insertBefore(box, error);

    var busy = false;
    function setBusy(value) {
      busy = value;
      Array.prototype.forEach.call(form.querySelectorAll("[type=submit]"), function (button) {
        button.disabled = value;
      });
    }
    function fail(message) {
      setBusy(false);
      box.hidden = true;
      error.textContent = message;
      error.hidden = false;
    }

    form.addEventListener("submit", function (event) {
      if (!input.files || !input.files.length) return;  // nothing to show progress for
      event.preventDefault();
      if (busy) return;
      var data = new FormData(form);
      // FormData leaves out the button that was pressed (the admin's "Save and continue").
      if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (progress) {
        if (!progress.lengthComputable) return;
        var percent = Math.floor(progress.loaded / progress.total * 100);
        bar.value = percent;
        status.textContent = labels.uploadSending.replace("{percent}", String(percent)) +
          " (" + megabytes(progress.loaded) + " / " + megabytes(progress.total) + ")";
      });
      request.upload.addEventListener("load", function () {
        bar.value = 100;
        status.textContent = labels.uploadChecking;  // the server decodes the file before answering
      });
      request.addEventListener("error", function () { fail(labels.uploadFailed); });
      request.addEventListener("abort", function () { fail(labels.uploadFailed); });
      request.addEventListener("load", function () {
        var type = request.getResponseHeader("Content-Type") || "";
        if (type.indexOf("application/json") === 0) {
          var answer = {};
          try { answer = JSON.parse(request.responseText); } catch (ignored) { /* shown below */ }
          if (request.status < 400 && answer.redirect) { go(answer.redirect); return; }
          fail(answer.message || labels.uploadFailed);
          return;
        }
        if (request.responseURL && withoutHash(request.responseURL) !== withoutHash(window.location.href)) {
          go(request.responseURL);  // redirected after a successful save
          return;
        }
        // The same page again, with the server's error messages: show it as it is.
        document.open();
        document.write(request.responseText);
        document.close();
      });
      setBusy(true);
      error.hidden = true;
      bar.value = 0;
      status.textContent = labels.uploadSending.replace("{percent}", "0");
      box.hidden = false;
      request.send(data);
    });
  }

  function enhanceAll() {
    Array.prototype.forEach.call(document.querySelectorAll("form[enctype='multipart/form-data']"), function (form) {
      var input = form.querySelector("input[type=file][data-upload-sending]");
      if (input) enhance(form, input);
    });
  }
  // The admin loads its scripts in the head, before the form exists.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhanceAll);
  else enhanceAll();
})();
