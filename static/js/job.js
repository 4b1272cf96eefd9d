// Live progress for one job: the DB snapshot on connect, then events; reconnects with backoff.
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
    if (snapshot.preview && !snapshot.result_url) {
      el("job-preview").src = snapshot.preview;
      el("job-preview-figure").hidden = false;
    }
    el("job-cancel").hidden = finished(snapshot.state);
    var publish = el("job-publish");
    if (publish) publish.hidden = snapshot.state !== "succeeded";
    if (snapshot.result_url) showResult(snapshot);
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

  function showResult(snapshot) {
    var holder = el("job-result");
    if (holder.dataset.shown) return;
    holder.dataset.shown = "1";
    el("job-preview-figure").hidden = true;
    var media;
    if (snapshot.kind === "video") {
      media = document.createElement("video");
      media.controls = true;
      media.playsInline = true;
    } else {
      media = document.createElement("img");
      media.alt = "";
    }
    media.src = snapshot.result_url;
    media.id = "job-result-media";
    holder.appendChild(media);
    var link = document.createElement("a");
    link.href = snapshot.result_url + "?download=1";
    link.textContent = labels.download;
    link.className = "button";
    holder.appendChild(link);
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

  render(job);
  if (!finished(job.state)) connect();
})();
