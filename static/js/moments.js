// Comments about a moment of the clip: a click on their time plays the item's film from there,
// and the comment form can take the player's current moment.
(function () {
  "use strict";
  function player() {
    return document.querySelector(".original-media video");
  }
  function text(seconds) {
    var whole = Math.floor(seconds), h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h ? h + ":" + pad(m) + ":" + pad(s) : m + ":" + pad(s);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-seek]");
    var video = player();
    if (link && video) {
      event.preventDefault();
      video.currentTime = parseFloat(link.getAttribute("data-seek"));
      video.scrollIntoView({block: "center"});
      var playing = video.play();
      if (playing && playing.catch) { playing.catch(function () {}); }  // autoplay refused: it still seeks
    }
    var now = event.target.closest("[data-moment-now]");
    if (now && video) {
      var field = now.closest(".field").querySelector("input");
      field.value = text(video.currentTime);
    }
  });
})();
