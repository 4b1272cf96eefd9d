// Before/after comparison (a clip divider moved by a range input, by keyboard or by dragging on the
// picture; for films the left video drives the right one): on the item page between any two of the
// original and its versions (with pickers), on the job page between the job's source and result
// (no pickers; job.js calls RestorationCompare.init when the result arrives while the page is
// open). The zoomable picture is static/js/zoom.js.
// The view lives in the address (?left=&right=&split=&t=#compare), so a copied link opens the same
// two sides, divider and moment; films step a frame at a time with the , and . keys.
// Without this script the page shows both sides one beside the other, with their own controls.
(function () {
  "use strict";
  var el = function (id) { return document.getElementById(id); };

  function init(box) {
    if (!box || box.classList.contains("is-live")) return;
    var isVideo = box.dataset.kind === "video";
    var stage = el("compare-stage");
    var rightPane = el("compare-pane-right");
    var divider = el("compare-divider");
    var range = el("compare-range");
    var selects = { left: el("compare-left-select"), right: el("compare-right-select") };
    var hasPickers = Boolean(selects.left && selects.right);
    if (hasPickers) {
      // The HTML lists the versions once (in the right picker): the left one gets a copy.
      Array.prototype.forEach.call(selects.right.options, function (option) {
        if (option.value !== "original") selects.left.appendChild(option.cloneNode(true));
      });
      selects.left.value = "original";
      el("compare-pickers").hidden = false;
    }
    var media = function (side) { return el("compare-" + side + "-media"); };
    var pendingTime = 0;  // where the left film goes once it has loaded (a picked side, the address's t)

    box.classList.add("is-live");
    el("compare-controls").hidden = false;
    divider.hidden = false;

    function setSplit(value) {
      var x = Math.max(0, Math.min(100, Math.round(Number(value))));
      rightPane.style.clipPath = "inset(0 0 0 " + x + "%)";
      divider.style.left = x + "%";
      range.setAttribute("aria-valuetext",
        box.dataset.labelValuetext.replace("{left}", String(x)).replace("{right}", String(100 - x)));
    }
    range.addEventListener("input", function () { setSplit(range.value); });
    setSplit(range.value);

    // Drag on the picture to move the divider (touch: horizontal drags; vertical ones still scroll).
    var dragging = false;
    function fromPointer(event) {
      var rect = stage.getBoundingClientRect();
      if (!rect.width) return;
      range.value = String(Math.round((event.clientX - rect.left) / rect.width * 100));
      setSplit(range.value);
    }
    stage.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      dragging = true;
      stage.setPointerCapture(event.pointerId);
      fromPointer(event);
      event.preventDefault();
    });
    stage.addEventListener("pointermove", function (event) { if (dragging) fromPointer(event); });
    ["pointerup", "pointercancel"].forEach(function (name) {
      stage.addEventListener(name, function () { dragging = false; });
    });
    stage.addEventListener("dragstart", function (event) { event.preventDefault(); });

    // Show the chosen original or version on one side, with its credit.
    function sideLabel(side) {
      var label = document.querySelector('label[for="' + selects[side].id + '"]');
      return label ? label.textContent.trim() : side;
    }

    function show(side) {
      var option = selects[side].options[selects[side].selectedIndex];
      var data = option.dataset;
      var target = media(side);
      if (isVideo) {
        var left = media("left");
        var at = left.readyState >= 1 ? left.currentTime || 0 : pendingTime;
        if (side === "left") pendingTime = at;
        var wasPlaying = !left.paused;
        left.pause();
        if (data.poster) target.poster = data.poster; else target.removeAttribute("poster");
        target.src = data.src;
        target.addEventListener("loadedmetadata", function once() {
          target.removeEventListener("loadedmetadata", once);
          try { target.currentTime = at; } catch (ignored) { /* not seekable yet */ }
          if (wasPlaying) left.play().catch(function () {});
        });
      } else {
        target.src = data.src;
        target.alt = sideLabel(side) + ": " + data.name;
      }
      var credit = el("compare-credit-" + side);
      credit.querySelector('[data-field="name"]').textContent = data.name;
      credit.querySelector('[data-field="credit"]').textContent = data.credit;
      credit.querySelector('[data-field="ai"]').hidden = !data.ai;
    }
    if (hasPickers) {
      selects.left.addEventListener("change", function () { show("left"); });
      selects.right.addEventListener("change", function () { show("right"); });
    }

    // "Compare with the original" on each version: original on the left, that version on the right.
    Array.prototype.forEach.call(document.querySelectorAll("[data-compare-right]"), function (link) {
      link.addEventListener("click", function () {
        if (selects.left.value !== "original") { selects.left.value = "original"; show("left"); }
        selects.right.value = link.dataset.compareRight;
        show("right");
      });
    });

    // ---- The view in the address: replaced, not pushed, so Back still leaves the page ----
    var params = new URLSearchParams(location.search);
    function hasOption(side, value) {
      return Array.prototype.some.call(selects[side].options, function (option) { return option.value === value; });
    }
    if (hasPickers) ["left", "right"].forEach(function (side) {
      var wanted = params.get(side);
      if (wanted && wanted !== selects[side].value && hasOption(side, wanted)) {
        selects[side].value = wanted;
        show(side);
      }
    });
    if (params.has("split")) {  // the range input itself clamps, rounds and drops what is not a number
      range.value = params.get("split");
      setSplit(range.value);
    }
    var saveTimer = null;
    // While the left film loads another source its clock reads 0: the moment it will seek to counts.
    function leftTime() {
      var left = media("left");
      return left.readyState >= 1 ? left.currentTime || 0 : pendingTime;
    }
    function saveView() {
      clearTimeout(saveTimer);
      saveTimer = setTimeout(function () {
        var query = new URLSearchParams(location.search);
        if (hasPickers) {
          query.set("left", selects.left.value);
          query.set("right", selects.right.value);
        }
        query.set("split", range.value);
        if (isVideo) query.set("t", String(Math.round(leftTime() * 100) / 100));
        history.replaceState(history.state, "", location.pathname + "?" + query.toString() + "#" + (box.dataset.anchor || "compare"));
      }, 150);
    }
    if (hasPickers) {
      selects.left.addEventListener("change", saveView);
      selects.right.addEventListener("change", saveView);
    }
    range.addEventListener("input", saveView);

    // A/B: one side whole, then the other, on the same spot (the divider at 100, then 0).
    var ab = el("compare-ab");
    if (ab) ab.addEventListener("click", function () {
      range.value = range.value === "100" ? "0" : "100";
      setSplit(range.value);
      ab.setAttribute("aria-pressed", "true");
      saveView();
    });
    range.addEventListener("input", function () { if (ab) ab.setAttribute("aria-pressed", "false"); });

    if (!isVideo) return;

    // ---- Films: one set of controls; the left video drives the right one ----
    var left = media("left"), right = media("right");
    var play = el("compare-play"), time = el("compare-time"), clock = el("compare-clock");
    left.controls = false;
    right.controls = false;
    right.muted = true;

    function formatTime(seconds) {
      seconds = Math.max(0, Math.floor(seconds || 0));
      var s = seconds % 60;
      return Math.floor(seconds / 60) + ":" + (s < 10 ? "0" : "") + s;
    }
    function sync(tolerance) {
      if (right.readyState < 1) return;
      if (Math.abs(right.currentTime - left.currentTime) > tolerance) right.currentTime = left.currentTime;
    }
    function showState() {
      play.textContent = left.paused ? box.dataset.labelPlay : box.dataset.labelPause;
    }
    function showTime() {
      if (isFinite(left.duration)) time.max = String(left.duration);
      time.value = String(left.currentTime);
      clock.textContent = formatTime(left.currentTime) + (isFinite(left.duration) ? " / " + formatTime(left.duration) : "");
      time.setAttribute("aria-valuetext", clock.textContent);
    }

    left.addEventListener("play", function () { sync(0.05); right.play().catch(function () {}); showState(); });
    left.addEventListener("pause", function () { right.pause(); sync(0.02); showState(); });
    left.addEventListener("ended", function () { right.pause(); showState(); });
    left.addEventListener("seeking", function () { sync(0.02); showTime(); });
    left.addEventListener("seeked", function () { sync(0.02); });
    left.addEventListener("ratechange", function () { right.playbackRate = left.playbackRate; });
    left.addEventListener("timeupdate", function () { sync(0.15); showTime(); });
    left.addEventListener("loadedmetadata", showTime);
    right.addEventListener("loadedmetadata", function () {
      sync(0.02);
      right.playbackRate = left.playbackRate;
      if (!left.paused) right.play().catch(function () {});
    });

    play.addEventListener("click", function () {
      if (left.paused) left.play().catch(function () {}); else left.pause();
    });
    time.addEventListener("input", function () { left.currentTime = Number(time.value); });
    left.addEventListener("pause", saveView);
    left.addEventListener("seeked", function () { if (left.paused) saveView(); });

    // The moment in the address, once the left film can seek.
    var startAt = Number(params.get("t"));
    if (params.has("t") && isFinite(startAt) && startAt > 0) {
      pendingTime = startAt;
      var seekStart = function () { left.currentTime = startAt; };
      if (left.readyState >= 1) seekStart(); else left.addEventListener("loadedmetadata", seekStart, { once: true });
    }

    // , and . step one frame back and forth (the rate read at upload), pausing first.
    var frame = 1 / (Number(box.dataset.fps) || 25);
    document.addEventListener("keydown", function (event) {
      if (event.key !== "," && event.key !== ".") return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target.isContentEditable || /^(TEXTAREA|SELECT)$/.test(target.tagName) ||
          (target.tagName === "INPUT" && target.type !== "range")) return;
      left.pause();
      var next = left.currentTime + (event.key === "." ? frame : -frame);
      left.currentTime = Math.max(0, isFinite(left.duration) ? Math.min(left.duration, next) : next);
      event.preventDefault();
    });
    showState();
    showTime();
  }

  window.RestorationCompare = { init: init };
  Array.prototype.forEach.call(document.querySelectorAll("[data-compare]"), init);
})();
