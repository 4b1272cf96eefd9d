// Live progress for one job: the DB snapshot on connect, then events; reconnects with backoff.
// When the job ends while the page is open, the page's end part (result, how it was made, run it
// again, publish) is fetched from the server and shown, the tab's title says so, and a browser
// notification is shown if the user allowed them.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) return;
  var labels = JSON.parse(document.getElementById("job-labels").textContent);
  var job = JSON.parse(document.getElementById("job-snapshot").textContent);
  var el = function (id) { return document.getElementById(id); };
  var finished = function (state) { return state === "succeeded" || state === "failed" || state === "cancelled"; };
  var delay = 1000, socket = null, stopped = false;
  var timeline = el("job-timeline"), timelineCount = timeline ? timeline.children.length : 0;
  var outcome = el("job-outcome"), pageTitle = document.title, seenRunning = !finished(job.state);
  var notifyButton = el("job-notify");

  function formatSeconds(s) {
    if (s === null || s === undefined) return "";
    s = Math.round(s);
    return s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function render(snapshot) {
    job = snapshot;
    var state = el("job-state");
    state.textContent = snapshot.state_label;
    state.className = "state state-" + snapshot.state;
    var p = snapshot.progress || {};
    el("job-progress").value = p.fraction || 0;
    el("job-percent").textContent = Math.round((p.fraction || 0) * 100) + "%";
    var detail = "";
    if (snapshot.state === "queued") {
      detail = labels.queued_note;
      if (snapshot.queue_position) detail += " · " + labels.position.replace("%s", snapshot.queue_position);
      var eta = snapshot.queue_eta;
      if (eta) detail += " · " + (eta.measured ? labels.queue_eta : labels.queue_eta_guess).replace("%s", formatSeconds(eta.seconds));
    }
    else if (snapshot.state === "running") {
      if (p.phase === "starting") detail = labels.starting;
      else if (p.phase === "finish") detail = labels.finish;
      else if (p.phase === "encode") detail = labels.encode + " · " + labels.frame + " " + p.frame + " / " + p.total;
      else {
        detail = (p.stage || "").split("+").join(" → ") + " · " + labels.frame + " " + p.frame + " / " + p.total;
        if (p.fps) detail += " · " + p.fps.toFixed(1) + " " + labels.fps;
        if (p.eta_seconds) detail += " · " + labels.eta.replace("%s", formatSeconds(p.eta_seconds));
      }
      if (snapshot.cancel_requested) detail += " · " + labels.cancelling;
    }
    if (snapshot.slower_on_cpu && !finished(snapshot.state)) detail += " · " + labels.slower_on_cpu;
    el("job-detail").textContent = detail;
    var error = el("job-error");
    error.textContent = snapshot.error || "";
    error.hidden = !snapshot.error;
    var done = finished(snapshot.state);
    if (snapshot.preview && !done) {
      el("job-preview").src = snapshot.preview;
      el("job-preview-figure").hidden = false;
    }
    el("job-cancel").hidden = done;
    showTitle(snapshot);
    if (done) {
      el("job-preview-figure").hidden = true;
      if (notifyButton) notifyButton.parentNode.hidden = true;
      if (outcome.dataset.state !== snapshot.state) loadOutcome(snapshot.state, 0);
    }
    if (timeline && snapshot.events_count !== undefined && snapshot.events_count !== timelineCount) loadTimeline();
  }

  // The timeline is fetched only when the snapshot says it grew, not sent with every progress event.
  function loadTimeline() {
    timelineCount = job.events_count;
    fetch(timeline.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (events) {
        if (!events) return;
        timeline.textContent = "";
        events.forEach(function (event) {
          var item = document.createElement("li"), time = document.createElement("time");
          time.dateTime = event.created_at;
          time.textContent = event.created_at.slice(11, 19);
          item.appendChild(time);
          item.appendChild(document.createTextNode(" " + event.text));
          timeline.appendChild(item);
        });
        timelineCount = events.length;
      })
      .catch(function () { timelineCount = -1; });  // try again with the next snapshot
  }

  // "42% · Restoration job" while it runs, "✓ Succeeded · ..." once it ends: visible from another tab.
  function showTitle(snapshot) {
    var prefix = "";
    if (snapshot.state === "running") prefix = Math.round(((snapshot.progress || {}).fraction || 0) * 100) + "%";
    else if (snapshot.state === "succeeded") prefix = "✓ " + snapshot.state_label;
    else if (finished(snapshot.state)) prefix = "✗ " + snapshot.state_label;
    document.title = prefix ? prefix + " · " + pageTitle : pageTitle;
  }

  // The server renders the end part (the same template as a reload shows); tried again a few times.
  function loadOutcome(state, attempt) {
    outcome.dataset.state = state;
    fetch(outcome.dataset.url, {credentials: "same-origin", headers: {Accept: "text/html"}})
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.text(); })
      .then(function (html) {
        outcome.innerHTML = html;
        if (window.RestorationCompare) {
          Array.prototype.forEach.call(outcome.querySelectorAll("[data-compare]"), window.RestorationCompare.init);
        }
        if (seenRunning) notifyEnd(state);
      })
      .catch(function () {
        if (attempt < 5) setTimeout(function () { loadOutcome(state, attempt + 1); }, 2000 * (attempt + 1));
        else outcome.dataset.state = "";
      });
  }

  function notifyEnd(state) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var text = state === "succeeded" ? labels.notify_succeeded : state === "failed" ? labels.notify_failed
      : labels.notify_cancelled;
    try {
      var notification = new Notification(text, {body: pageTitle, tag: "job-" + job.id});
      notification.onclick = function () { window.focus(); notification.close(); };
    } catch (error) { /* some phones allow notifications only from a service worker: the title says it */ }
  }

  // Asking needs a click: the button shows while the job runs, until the user has answered.
  function offerNotifications() {
    if (!notifyButton || !("Notification" in window) || finished(job.state)) return;
    notifyButton.parentNode.hidden = Notification.permission !== "default";
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyButton.parentNode.hidden = true; });
    });
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath);
    socket.onopen = function () { delay = 1000; el("job-connection").textContent = labels.live; };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.job) render(data.job);
      if (finished(job.state)) { stopped = true; socket.close(); }
    };
    socket.onclose = function (event) {
      el("job-connection").textContent = "";
      if (event.code === 4401 || event.code === 4403 || event.code === 4404) { el("job-connection").textContent = labels.forbidden; return; }
      if (stopped) return;
      el("job-connection").textContent = labels.reconnecting;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  // While queued, nothing about this job changes on the channel when others start: ask for the
  // snapshot (position in the queue) every few seconds.
  setInterval(function () {
    if (job.state === "queued" && socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({type: "refresh"}));
    }
  }, 5000);

  offerNotifications();
  render(job);
  if (!finished(job.state)) connect();
})();
