// The Colorize page: draw colour scribbles over a frame (mouse, touch or pen), preview the frame
// colorized by the server, launch the job for the whole clip.
//
// The canvas has the pixel size of the frame's picture (the server's preview size) and lies over
// it; what is drawn is sent as an RGBA PNG whose opaque pixels give their colour (transparent = no
// opinion). The eraser clears pixels back to transparent.
(function () {
  "use strict";
  var form = document.getElementById("colorize-form");
  if (!form) return;
  var labels = form.dataset;
  var picture = document.getElementById("colorize-frame");
  var canvas = document.getElementById("colorize-canvas");
  var context = canvas.getContext("2d");
  var frameNumber = document.getElementById("colorize-frame-number");
  var frameRange = document.getElementById("colorize-frame-range");
  var colorInput = document.getElementById("colorize-color");
  var brushInput = document.getElementById("colorize-brush");
  var eraserButton = document.getElementById("colorize-eraser");
  var statusLine = document.getElementById("colorize-status");
  var errorLine = document.getElementById("colorize-error");
  var result = document.getElementById("colorize-result");
  var previewImage = document.getElementById("colorize-preview");
  var buttons = [document.getElementById("colorize-preview-button"), document.getElementById("colorize-launch-button")];

  var UNDO_STEPS = 20;
  var undoStack = [];
  var stroke = null;  // {id, point} of the pointer drawing now

  // --- the canvas over the frame ---------------------------------------------------------------
  function fitCanvas() {
    if (canvas.width === picture.naturalWidth && canvas.height === picture.naturalHeight) return;
    canvas.width = picture.naturalWidth;
    canvas.height = picture.naturalHeight;
    clearAll();
  }
  picture.addEventListener("load", fitCanvas);
  if (picture.complete && picture.naturalWidth) fitCanvas();

  function clearAll() {
    context.clearRect(0, 0, canvas.width, canvas.height);
    undoStack = [];
  }

  function hasPaint() {
    if (!canvas.width) return false;
    var pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    for (var i = 3; i < pixels.length; i += 4) if (pixels[i]) return true;
    return false;
  }

  // Pointer position in canvas pixels (the canvas is shown scaled to the page's width).
  function canvasPoint(event) {
    var box = canvas.getBoundingClientRect();
    return {x: (event.clientX - box.left) * canvas.width / box.width,
            y: (event.clientY - box.top) * canvas.height / box.height};
  }

  function brushWidth() {
    var box = canvas.getBoundingClientRect();
    // The brush size is in screen pixels, so it feels the same on a phone and a desktop.
    return Number(brushInput.value) * canvas.width / Math.max(1, box.width);
  }

  function line(from, to) {
    var erasing = eraserButton.getAttribute("aria-pressed") === "true";
    context.globalCompositeOperation = erasing ? "destination-out" : "source-over";
    context.strokeStyle = colorInput.value;
    context.fillStyle = colorInput.value;
    context.lineWidth = brushWidth();
    context.lineCap = "round";
    context.lineJoin = "round";
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x + 0.01, to.y);  // a tap still leaves a dot
    context.stroke();
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (stroke || !canvas.width) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    undoStack.push(context.getImageData(0, 0, canvas.width, canvas.height));
    if (undoStack.length > UNDO_STEPS) undoStack.shift();
    var point = canvasPoint(event);
    stroke = {id: event.pointerId, point: point};
    line(point, point);
  });
  canvas.addEventListener("pointermove", function (event) {
    if (!stroke || event.pointerId !== stroke.id) return;
    event.preventDefault();
    var point = canvasPoint(event);
    line(stroke.point, point);
    stroke.point = point;
  });
  function endStroke(event) {
    if (stroke && event.pointerId === stroke.id) stroke = null;
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);

  eraserButton.addEventListener("click", function () {
    var on = eraserButton.getAttribute("aria-pressed") !== "true";
    eraserButton.setAttribute("aria-pressed", on ? "true" : "false");
  });
  document.getElementById("colorize-undo").addEventListener("click", function () {
    var last = undoStack.pop();
    if (last) context.putImageData(last, 0, 0);
  });
  document.getElementById("colorize-clear").addEventListener("click", clearAll);

  // --- choosing the frame ----------------------------------------------------------------------
  var frameTimer = null;
  var shownFrame = Number(frameNumber.value);
  function showFrame(value) {
    var index = Math.max(0, Math.min(Number(frameNumber.max || 0), Math.round(Number(value) || 0)));
    frameNumber.value = index;
    if (frameRange) frameRange.value = index;
    // A late "change" (on blur) for the frame already shown must not wipe the scribbles.
    if (index === shownFrame) return;
    shownFrame = index;
    // Scribbles belong to the frame they were drawn on.
    if (hasPaint()) say(labels.labelFrameChanged);
    clearAll();
    clearTimeout(frameTimer);
    frameTimer = setTimeout(function () { picture.src = labels.frameUrl + index; }, 150);
  }
  if (frameRange) {
    frameRange.addEventListener("input", function () { showFrame(frameRange.value); });
    frameNumber.addEventListener("change", function () { showFrame(frameNumber.value); });
  }

  // --- talking to the server -------------------------------------------------------------------
  function say(text) {
    statusLine.textContent = text || "";
  }
  function fail(text) {
    say("");
    errorLine.textContent = text || labels.labelFailed;
    errorLine.hidden = false;
  }
  function setBusy(busy) {
    buttons.forEach(function (button) { button.disabled = busy; });
  }

  function formData() {
    return new Promise(function (resolve) {
      var data = new FormData(form);
      // An empty file input would still send an empty part, which the API reads as a bad file.
      Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
        if (!input.files.length) data.delete(input.name);
      });
      if (!hasPaint()) return resolve(data);
      canvas.toBlob(function (blob) {
        data.append("scribble", blob, "scribble.png");
        resolve(data);
      }, "image/png");
    });
  }

  function send(url, data) {
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRFToken": form.elements.csrfmiddlewaretoken.value, "Accept": "application/json, image/png"},
    });
  }

  function errorOf(response) {
    return response.json().then(function (body) { return body; }, function () { return {message: ""}; });
  }

  var previewUrl = null;
  document.getElementById("colorize-preview-button").addEventListener("click", function () {
    errorLine.hidden = true;
    say(labels.labelPreviewing);
    setBusy(true);
    formData().then(function (data) {
      // The form's launch settings are no parameters of a preview, which refuses unknown fields.
      ["base_recipe", "allow_cpu", "confirm"].forEach(function (name) { data.delete(name); });
      return send(labels.previewUrl, data);
    }).then(function (response) {
      if (!response.ok) return errorOf(response).then(function (body) { fail(body.message); });
      return response.blob().then(function (blob) {
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        previewUrl = URL.createObjectURL(blob);
        previewImage.src = previewUrl;
        result.hidden = false;
        say(labels.labelPreviewDone);
      });
    }).catch(function () { fail(); }).then(function () { setBusy(false); });
  });

  function launch(confirm) {
    errorLine.hidden = true;
    say(labels.labelLaunching);
    setBusy(true);
    formData().then(function (data) {
      if (confirm) data.append("confirm", "true");
      return send(labels.launchUrl, data);
    }).then(function (response) {
      return errorOf(response).then(function (body) {
        if (response.status === 201) {
          window.location.href = labels.jobUrl.replace("00000000-0000-0000-0000-000000000000", body.id);
          return;
        }
        fail(body.message);
        setBusy(false);
        if (body.extra && body.extra.confirm_required) offerConfirm();
      });
    }).catch(function () { fail(); setBusy(false); });
  }

  function offerConfirm() {
    var again = document.createElement("button");
    again.type = "button";
    again.textContent = labels.labelConfirm;
    again.addEventListener("click", function () { again.remove(); launch(true); });
    errorLine.appendChild(document.createTextNode(" "));
    errorLine.appendChild(again);
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    launch(false);
  });
})();
