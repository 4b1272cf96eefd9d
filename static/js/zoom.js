// A zoomable picture for stills (paintings, photos) on the item page, on the full-size file:
// mouse wheel and pinch zoom, drag to pan, double-click or double-tap to toggle, keyboard
// (+ and -, arrows, 0 to reset) and buttons for touch screens.
// Without this script the picture is a link to the full-size file.
//
// The image keeps its fitted size in the layout and is moved with a CSS transform
// (translate, then scale from its top left corner); the viewport clips it.
(function () {
  "use strict";
  var STEP = 1.5;          // one key press or button press
  var TOGGLE_SCALE = 2.5;  // double-click / double-tap
  var PAN_STEP = 0.1;      // arrow keys move this part of the viewport

  function setUp(viewer) {
    var link = viewer.querySelector(".zoom-fallback");
    var image = viewer.querySelector(".zoom-image");
    var toolbar = viewer.querySelector(".zoom-toolbar");
    var level = viewer.querySelector(".zoom-level");

    // The link becomes a focusable viewport that clips the moved picture.
    var viewport = document.createElement("div");
    viewport.className = "zoom-viewport";
    viewport.tabIndex = 0;
    viewport.setAttribute("role", "group");
    viewport.setAttribute("aria-label", viewer.dataset.labelViewport);
    link.parentNode.replaceChild(viewport, link);
    viewport.appendChild(image);
    image.draggable = false;
    toolbar.hidden = false;
    viewer.classList.add("is-live");
    var figure = viewer.closest("figure");
    if (figure) {
      Array.prototype.forEach.call(figure.querySelectorAll(".zoom-hint"), function (hint) { hint.hidden = false; });
      Array.prototype.forEach.call(figure.querySelectorAll(".zoom-hint-nojs"), function (hint) { hint.hidden = true; });
    }

    var scale = 1, x = 0, y = 0;

    // Up to twice the file's own pixels, and at least 4x.
    function maxScale() {
      var fitted = image.clientWidth || 1;
      return Math.min(16, Math.max(4, 2 * (image.naturalWidth || fitted) / fitted));
    }

    // Keep the picture covering the viewport: no empty margins when zoomed in.
    function clamp() {
      var width = image.clientWidth, height = image.clientHeight;
      x = Math.min(0, Math.max(width - width * scale, x));
      y = Math.min(0, Math.max(height - height * scale, y));
    }

    function render() {
      clamp();
      image.style.transform = "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
      var zoomed = scale > 1.001;
      viewport.classList.toggle("is-zoomed", zoomed);
      viewer.dataset.scale = scale.toFixed(3);
      level.textContent = Math.round(scale * 100) + "%";
    }

    // Zoom to `target`, keeping the point (px, py) of the viewport where it is.
    function zoomTo(target, px, py) {
      var next = Math.max(1, Math.min(maxScale(), target));
      if (px === undefined) { px = image.clientWidth / 2; py = image.clientHeight / 2; }
      x = px - (px - x) * next / scale;
      y = py - (py - y) * next / scale;
      scale = next;
      render();
    }

    function reset() { scale = 1; x = 0; y = 0; render(); }

    function pointIn(event) {
      var rect = viewport.getBoundingClientRect();
      return { x: event.clientX - rect.left, y: event.clientY - rect.top };
    }

    function toggleAt(point) {
      if (scale > 1.001) reset(); else zoomTo(TOGGLE_SCALE, point.x, point.y);
    }

    // ---- Mouse wheel and trackpad pinch (which Chrome sends as a wheel with ctrlKey) ----
    viewport.addEventListener("wheel", function (event) {
      event.preventDefault();
      var point = pointIn(event);
      zoomTo(scale * Math.exp(-event.deltaY * (event.ctrlKey ? 0.01 : 0.002)), point.x, point.y);
    }, { passive: false });

    // ---- Pointers: one drags, two pinch ----
    var pointers = new Map();
    var pinch = null;  // {distance, scale} at the start of a pinch
    var lastTap = { time: 0, x: 0, y: 0 };
    var lastTouchToggle = 0;

    function pinchState() {
      var points = Array.from(pointers.values());
      var a = points[0], b = points[1];
      return { distance: Math.hypot(a.x - b.x, a.y - b.y) || 1, x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    }

    viewport.addEventListener("pointerdown", function (event) {
      if (event.pointerType === "mouse" && event.button !== 0) return;
      var point = pointIn(event);
      pointers.set(event.pointerId, { x: point.x, y: point.y, startX: point.x, startY: point.y });
      viewport.setPointerCapture(event.pointerId);
      if (pointers.size === 2) {
        var state = pinchState();
        pinch = { distance: state.distance, scale: scale };
      }
    });

    viewport.addEventListener("pointermove", function (event) {
      var known = pointers.get(event.pointerId);
      if (!known) return;
      var point = pointIn(event);
      if (pointers.size >= 2 && pinch) {
        known.x = point.x; known.y = point.y;
        var state = pinchState();
        zoomTo(pinch.scale * state.distance / pinch.distance, state.x, state.y);
        return;
      }
      if (scale > 1.001) {  // at fit size a drag on a phone scrolls the page instead
        x += point.x - known.x;
        y += point.y - known.y;
        render();
      }
      known.x = point.x; known.y = point.y;
    });

    function release(event) {
      var known = pointers.get(event.pointerId);
      if (!known) return;
      pointers.delete(event.pointerId);
      if (pointers.size < 2) pinch = null;
      if (event.type !== "pointerup" || event.pointerType === "mouse") return;
      // A double tap on a touch screen toggles, like a double click.
      var moved = Math.hypot(known.x - known.startX, known.y - known.startY);
      if (moved > 10) return;
      var now = Date.now();
      if (now - lastTap.time < 350 && Math.hypot(known.x - lastTap.x, known.y - lastTap.y) < 40) {
        lastTap.time = 0;
        lastTouchToggle = now;
        toggleAt(known);
      } else {
        lastTap = { time: now, x: known.x, y: known.y };
      }
    }
    ["pointerup", "pointercancel"].forEach(function (name) { viewport.addEventListener(name, release); });

    viewport.addEventListener("dblclick", function (event) {
      event.preventDefault();
      if (Date.now() - lastTouchToggle < 500) return;  // the double tap already toggled
      toggleAt(pointIn(event));
    });

    // ---- Keyboard ----
    viewport.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var width = image.clientWidth, height = image.clientHeight;
      switch (event.key) {
        case "+": case "=": zoomTo(scale * STEP); break;
        case "-": case "_": zoomTo(scale / STEP); break;
        case "0": reset(); break;
        case "ArrowLeft": x += width * PAN_STEP; render(); break;
        case "ArrowRight": x -= width * PAN_STEP; render(); break;
        case "ArrowUp": y += height * PAN_STEP; render(); break;
        case "ArrowDown": y -= height * PAN_STEP; render(); break;
        default: return;
      }
      event.preventDefault();
    });

    // ---- Buttons ----
    toolbar.addEventListener("click", function (event) {
      var button = event.target.closest("[data-zoom-action]");
      if (!button) return;
      var action = button.dataset.zoomAction;
      if (action === "in") zoomTo(scale * STEP);
      else if (action === "out") zoomTo(scale / STEP);
      else reset();
    });

    window.addEventListener("resize", render);
    render();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-zoom-viewer]"), setUp);
})();
