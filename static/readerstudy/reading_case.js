/* Reading page: image viewer (grid and single image, keyboard, zoom, window/level),
   category keys, Ctrl+Enter submit and active reading time. No dependencies. */
(function () {
  "use strict";

  var IDLE_MS = 60000;   // input-free time after which the reader is considered away
  var TICK_MS = 1000;

  var config = document.getElementById("reading-config");
  var form = document.getElementById("reading-form");

  function isTextEntry(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName.toLowerCase();
    if (tag === "textarea" || tag === "select" || el.isContentEditable) { return true; }
    if (tag !== "input") { return false; }
    var type = (el.getAttribute("type") || "text").toLowerCase();
    return ["radio", "checkbox", "button", "submit", "hidden"].indexOf(type) === -1;
  }

  function isFormControl(el) {
    return isTextEntry(el) || (el && el.tagName && el.tagName.toLowerCase() === "input");
  }

  /* ---------------------------------------------------------------- active time */
  var activeKey = config ? config.dataset.activeKey : null;
  var counting = config && config.dataset.counting === "1";
  var activeMs = 0;
  try { activeMs = parseFloat(window.sessionStorage.getItem(activeKey)) || 0; } catch (e) { activeMs = 0; }
  var lastInput = Date.now();
  var lastTick = Date.now();

  function markInput() { lastInput = Date.now(); }
  ["keydown", "mousedown", "mousemove", "wheel", "touchstart", "input", "scroll"].forEach(function (name) {
    window.addEventListener(name, markInput, { passive: true, capture: true });
  });

  function tick() {
    var now = Date.now();
    var step = Math.min(now - lastTick, 2 * TICK_MS);
    lastTick = now;
    var active = document.visibilityState === "visible" && document.hasFocus() && now - lastInput <= IDLE_MS;
    if (counting && active) {
      activeMs += step;
      try { window.sessionStorage.setItem(activeKey, String(activeMs)); } catch (e) { /* private mode */ }
    }
  }
  if (counting) { window.setInterval(tick, TICK_MS); }

  /* ---------------------------------------------------------------- form */
  if (form) {
    var submitting = false;
    form.addEventListener("submit", function (event) {
      if (submitting) { event.preventDefault(); return; }
      submitting = true;
      tick();
      var field = form.querySelector("input[name='active_seconds']");
      if (field) { field.value = (activeMs / 1000).toFixed(1); }
      var button = form.querySelector("button[type='submit']");
      if (button) { button.setAttribute("aria-busy", "true"); }
    });
  }

  function chooseCategory(key) {
    if (!form) { return false; }
    var radio = form.querySelector("input[name='category'][value='" + key + "']");
    if (!radio) { return false; }
    radio.checked = true;
    radio.focus();
    return true;
  }

  /* ---------------------------------------------------------------- viewer */
  var gridView = document.getElementById("grid-view");
  var singleView = document.getElementById("single-view");
  var thumbs = gridView ? Array.prototype.slice.call(gridView.querySelectorAll(".thumb")) : [];
  thumbs.sort(function (a, b) { return +a.dataset.index - +b.dataset.index; });
  var canvas = document.getElementById("image-canvas");
  var wrap = document.getElementById("canvas-wrap");
  var statusEl = document.getElementById("image-status");
  var ctx = canvas ? canvas.getContext("2d", { willReadFrequently: true }) : null;
  var current = 0;       // position in thumbs of the single image shown
  var source = null;     // ImageData of the current image as loaded
  var zoom = 1;          // relative to "fit"
  var fit = 1;
  var win = 255, level = 127.5;   // window width and centre on the 8-bit display values
  var loadSerial = 0;

  function singleOpen() { return singleView && !singleView.hidden; }

  function applyWindow() {
    if (!source || !ctx) { return; }
    var low = level - win / 2;
    var lut = new Uint8ClampedArray(256);
    for (var v = 0; v < 256; v++) { lut[v] = Math.round(((v - low) / win) * 255); }
    var out = ctx.createImageData(source.width, source.height);
    var s = source.data, d = out.data;
    for (var i = 0; i < s.length; i += 4) {
      d[i] = lut[s[i]]; d[i + 1] = lut[s[i + 1]]; d[i + 2] = lut[s[i + 2]]; d[i + 3] = s[i + 3];
    }
    ctx.putImageData(out, 0, 0);
    updateStatus();
  }

  function applyZoom() {
    if (!source) { return; }
    var scale = fit * zoom;
    canvas.style.width = Math.round(source.width * scale) + "px";
    canvas.style.height = Math.round(source.height * scale) + "px";
    updateStatus();
  }

  function updateStatus() {
    if (!statusEl || !thumbs.length) { return; }
    var t = thumbs[current];
    statusEl.textContent = "Image " + t.dataset.index + " of " + thumbs.length + " · " + t.dataset.label +
      " · zoom " + Math.round(zoom * 100) + "% · W " + Math.round(win) + " L " + Math.round(level);
  }

  function show(pos) {
    if (!thumbs.length) { return; }
    current = (pos + thumbs.length) % thumbs.length;
    var serial = ++loadSerial;
    var img = new Image();
    img.onload = function () {
      if (serial !== loadSerial) { return; }
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      ctx.drawImage(img, 0, 0);
      source = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var roomX = Math.max(wrap.clientWidth - 4, 128);
      var roomY = Math.max(window.innerHeight * 0.7, 128);
      fit = Math.min(roomX / img.naturalWidth, roomY / img.naturalHeight, 8);
      applyZoom();
      applyWindow();
    };
    img.src = thumbs[current].dataset.src;
    thumbs.forEach(function (t, i) { t.classList.toggle("current", i === current); });
  }

  function openSingle(pos) {
    if (!singleView) { return; }
    gridView.hidden = true;
    singleView.hidden = false;
    show(pos);
    singleView.focus();
  }

  function closeSingle() {
    singleView.hidden = true;
    gridView.hidden = false;
    if (thumbs[current]) { thumbs[current].focus(); }
  }

  function resetView() { zoom = 1; win = 255; level = 127.5; applyZoom(); applyWindow(); }
  function setZoom(factor) { zoom = Math.min(Math.max(zoom * factor, 0.25), 16); applyZoom(); }
  function setWindow(dw, dl) {
    win = Math.min(Math.max(win + dw, 1), 1024);
    level = Math.min(Math.max(level + dl, -256), 512);
    applyWindow();
  }

  function gridMove(from, key) {
    var t = thumbs[from];
    var row = +t.dataset.row, col = +t.dataset.col;
    var dr = key === "ArrowUp" ? -1 : key === "ArrowDown" ? 1 : 0;
    var dc = key === "ArrowLeft" ? -1 : key === "ArrowRight" ? 1 : 0;
    var target = null;
    thumbs.forEach(function (o) {
      if (+o.dataset.row === row + dr && +o.dataset.col === col + dc) { target = o; }
    });
    if (!target) {  // off the edge (or a flat list): previous / next in image order
      var step = dr + dc < 0 ? -1 : 1;
      target = thumbs[(from + step + thumbs.length) % thumbs.length];
    }
    target.focus();
    current = thumbs.indexOf(target);
  }

  thumbs.forEach(function (t, i) {
    t.addEventListener("click", function () { openSingle(i); });
    t.addEventListener("focus", function () { current = i; });
  });
  function on(id, event, fn) { var el = document.getElementById(id); if (el) { el.addEventListener(event, fn); } }
  on("back-to-grid", "click", closeSingle);
  on("prev-image", "click", function () { show(current - 1); });
  on("next-image", "click", function () { show(current + 1); });
  on("zoom-in", "click", function () { setZoom(1.25); });
  on("zoom-out", "click", function () { setZoom(0.8); });
  on("reset-view", "click", resetView);

  if (wrap) {
    wrap.addEventListener("wheel", function (event) {
      event.preventDefault();
      setZoom(event.deltaY < 0 ? 1.1 : 1 / 1.1);
    }, { passive: false });
    var drag = null;
    canvas.addEventListener("pointerdown", function (event) {
      drag = { x: event.clientX, y: event.clientY };
      canvas.setPointerCapture(event.pointerId);
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      setWindow(event.clientX - drag.x, drag.y - event.clientY);
      drag = { x: event.clientX, y: event.clientY };
    });
    canvas.addEventListener("pointerup", function () { drag = null; });
    canvas.addEventListener("pointercancel", function () { drag = null; });
  }

  /* ---------------------------------------------------------------- keys */
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var target = event.target;
    if (isTextEntry(target)) { return; }
    var key = event.key;
    if (/^[0-9]$/.test(key) && !event.shiftKey) {
      if (chooseCategory(key)) { event.preventDefault(); }
      return;
    }
    if (isFormControl(target)) { return; }   // radios keep their own arrow keys
    if (!thumbs.length) { return; }

    if (singleOpen()) {
      var handled = true;
      if (event.shiftKey && key === "ArrowLeft") { setWindow(-8, 0); }
      else if (event.shiftKey && key === "ArrowRight") { setWindow(8, 0); }
      else if (event.shiftKey && key === "ArrowUp") { setWindow(0, 4); }
      else if (event.shiftKey && key === "ArrowDown") { setWindow(0, -4); }
      else if (key === "ArrowLeft" || key === "ArrowUp" || key === "PageUp") { show(current - 1); }
      else if (key === "ArrowRight" || key === "ArrowDown" || key === "PageDown") { show(current + 1); }
      else if (key === "+" || key === "=") { setZoom(1.25); }
      else if (key === "-" || key === "_") { setZoom(0.8); }
      else if (key === "r" || key === "R") { resetView(); }
      else if (key === "Escape") { closeSingle(); }
      else { handled = false; }
      if (handled) { event.preventDefault(); }
      return;
    }
    var inGrid = thumbs.indexOf(target) !== -1;
    if (key === "ArrowLeft" || key === "ArrowRight" || key === "ArrowUp" || key === "ArrowDown") {
      if (!inGrid && target.closest && target.closest("a, button, summary")) { return; }
      event.preventDefault();
      gridMove(inGrid ? thumbs.indexOf(target) : current, key);
    } else if (key === "PageUp" || key === "PageDown") {
      event.preventDefault();
      var from = inGrid ? thumbs.indexOf(target) : current;
      var to = (from + (key === "PageUp" ? -1 : 1) + thumbs.length) % thumbs.length;
      thumbs[to].focus();
    }
  });
})();
