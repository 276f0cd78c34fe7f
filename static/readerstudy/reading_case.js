/* Reading page: image viewer (grid and single image, keyboard, zoom at the pointer, pan,
   window/level), category keys, Ctrl+Enter submit, active reading time, and the autosaved
   draft of the form (with a warning before leaving while input is unsaved). No dependencies. */
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
  // A restored draft carries the active time counted before (perhaps in another tab).
  var draftActiveMs = config && config.dataset.draftActive ? parseFloat(config.dataset.draftActive) * 1000 : 0;
  if (draftActiveMs > activeMs) { activeMs = draftActiveMs; }
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

  /* ---------------------------------------------------------------- form and draft */
  var submitting = false;
  var draftUrl = config ? config.dataset.draftUrl : null;
  var draftStatus = document.getElementById("draft-status");
  var changes = 0;        // edits made on this page
  var savedChanges = 0;   // edits the stored draft holds
  var inflight = null;    // the draft save in progress (a Promise of true when stored)
  var saveTimer = null;
  var SAVE_DELAY_MS = 700;

  function unsaved() { return changes !== savedChanges; }

  function guard(event) {
    if (submitting || !unsaved()) { return; }
    saveDraft(true);
    event.preventDefault();
    event.returnValue = "";
  }

  // The leave warning is registered only while there is unsaved input.
  var guarded = false;
  function updateGuard() {
    var need = unsaved() && !submitting;
    if (need && !guarded) { window.addEventListener("beforeunload", guard); }
    if (!need && guarded) { window.removeEventListener("beforeunload", guard); }
    guarded = need;
  }

  function sayDraft(text, isError) {
    if (!draftStatus) { return; }
    draftStatus.textContent = text;
    draftStatus.classList.toggle("error", Boolean(isError));
  }

  function formValues() {
    var checked = form.querySelector("input[name='category']:checked");
    var probability = form.querySelector("[name='probability']");
    var impression = form.querySelector("[name='impression']");
    tick();
    return {
      version: parseInt(form.querySelector("input[name='version']").value, 10),
      category: checked ? parseInt(checked.value, 10) : null,
      probability: probability && probability.value.trim() !== "" ? probability.value.trim() : null,
      impression: impression ? impression.value : "",
      active_seconds: Math.round(activeMs / 100) / 10
    };
  }

  function saveDraft(keepalive) {
    if (!form || !draftUrl || submitting) { return Promise.resolve(!unsaved()); }
    if (inflight) {
      return inflight.then(function () { return unsaved() ? saveDraft(keepalive) : true; });
    }
    window.clearTimeout(saveTimer);
    saveTimer = null;
    var sending = changes;
    var csrf = form.querySelector("input[name='csrfmiddlewaretoken']").value;
    inflight = fetch(draftUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(keepalive),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(formValues())
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) {
        sayDraft("Draft not saved: " + (result.data.error || "the server refused it") + ".", true);
        return false;
      }
      savedChanges = Math.max(savedChanges, sending);
      if (!unsaved()) {
        var at = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
        sayDraft("Draft saved at " + at + ": not submitted yet.", false);
      }
      return true;
    }, function () {
      sayDraft("Draft not saved: the connection failed. Your input stays on this page and is saved at the next change.", true);
      return false;
    }).then(function (ok) {
      inflight = null;
      updateGuard();
      return ok;
    });
    return inflight;
  }

  function changed() {
    if (submitting) { return; }
    changes += 1;
    updateGuard();
    window.clearTimeout(saveTimer);
    saveTimer = window.setTimeout(function () { saveTimer = null; saveDraft(false); }, SAVE_DELAY_MS);
  }

  if (form) {
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", function (event) {
      if (submitting) { event.preventDefault(); return; }
      submitting = true;
      window.clearTimeout(saveTimer);
      updateGuard();
      tick();
      var field = form.querySelector("input[name='active_seconds']");
      if (field) { field.value = (activeMs / 1000).toFixed(1); }
      var button = form.querySelector("button[type='submit']");
      if (button) { button.setAttribute("aria-busy", "true"); }
    });

    // Links of the page (previous, next, worklist...): store the draft first, then go.
    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[href]") : null;
      if (!link || !unsaved() || event.defaultPrevented || event.button !== 0) { return; }
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
      if (link.target || link.hasAttribute("download") || link.getAttribute("href").charAt(0) === "#") { return; }
      event.preventDefault();
      saveDraft(false).then(function () { window.location.href = link.href; });
    });
    window.addEventListener("pagehide", function () {
      if (unsaved() && !submitting) { saveDraft(true); }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && unsaved() && !submitting) { saveDraft(true); }
    });
  }

  function chooseCategory(key) {
    if (!form) { return false; }
    var radio = form.querySelector("input[name='category'][value='" + key + "']");
    if (!radio) { return false; }
    radio.checked = true;
    radio.focus();
    changed();
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
  var fit = 1;           // scale at which the whole image fits the viewport
  var panX = 0, panY = 0;  // viewport position (CSS px) of the image's top-left corner
  var win = 255, level = 127.5;   // window width and centre on the 8-bit display values
  var loadSerial = 0;
  var ZOOM_MIN = 0.25, ZOOM_MAX = 16;

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

  function viewport() { return { w: wrap.clientWidth, h: wrap.clientHeight }; }

  // The canvas is placed absolutely in the viewport: scale fit * zoom, top-left at (panX, panY).
  function applyZoom() {
    if (!source) { return; }
    var scale = fit * zoom;
    canvas.style.width = source.width * scale + "px";
    canvas.style.height = source.height * scale + "px";
    canvas.style.left = panX + "px";
    canvas.style.top = panY + "px";
    updateStatus();
  }

  function centre() {
    var room = viewport(), scale = fit * zoom;
    panX = (room.w - source.width * scale) / 2;
    panY = (room.h - source.height * scale) / 2;
  }

  function fitToViewport() {
    var room = viewport();
    fit = Math.min(Math.max(room.w, 64) / source.width, Math.max(room.h, 64) / source.height, 8);
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
      var first = !source || source.width !== img.naturalWidth || source.height !== img.naturalHeight;
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      ctx.drawImage(img, 0, 0);
      source = ctx.getImageData(0, 0, canvas.width, canvas.height);
      // the first image (or one of another size) is fitted and centred; the next ones of
      // the same size keep the zoom and position
      if (first) { fitToViewport(); zoom = 1; centre(); }
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
    source = null;
    show(pos);
    singleView.focus();
  }

  function closeSingle() {
    singleView.hidden = true;
    gridView.hidden = false;
    if (thumbs[current]) { thumbs[current].focus(); }
  }

  function resetView() {
    win = 255; level = 127.5; zoom = 1;
    if (source) { fitToViewport(); centre(); }
    applyZoom(); applyWindow();
  }

  // Zoom by ``factor`` keeping the viewport point (x, y) over the same image point
  // (default: the viewport's centre, for the keys and buttons).
  function setZoom(factor, x, y) {
    if (!source) { return; }
    var room = viewport();
    if (x === undefined) { x = room.w / 2; y = room.h / 2; }
    var next = Math.min(Math.max(zoom * factor, ZOOM_MIN), ZOOM_MAX);
    var k = next / zoom;
    panX = x - (x - panX) * k;
    panY = y - (y - panY) * k;
    zoom = next;
    applyZoom();
  }

  function pan(dx, dy) {
    if (!source) { return; }
    var room = viewport(), scale = fit * zoom, keep = 32;
    // keep at least a strip of the image in view
    panX = Math.min(Math.max(panX + dx, keep - source.width * scale), room.w - keep);
    panY = Math.min(Math.max(panY + dy, keep - source.height * scale), room.h - keep);
    applyZoom();
  }

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
      var box = wrap.getBoundingClientRect();
      setZoom(event.deltaY < 0 ? 1.1 : 1 / 1.1,
        event.clientX - box.left - wrap.clientLeft, event.clientY - box.top - wrap.clientTop);
    }, { passive: false });
    // Drag: window/level. Right or middle button, or Ctrl + drag: move the image.
    var drag = null;
    wrap.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    wrap.addEventListener("pointerdown", function (event) {
      if (!source) { return; }
      var panning = event.button === 1 || event.button === 2 || event.ctrlKey;
      drag = { x: event.clientX, y: event.clientY, pan: panning };
      wrap.setPointerCapture(event.pointerId);
      if (event.button === 1) { event.preventDefault(); }
    });
    wrap.addEventListener("pointermove", function (event) {
      if (!drag) { return; }
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (drag.pan) { pan(dx, dy); } else { setWindow(dx, -dy); }
      drag.x = event.clientX; drag.y = event.clientY;
    });
    wrap.addEventListener("pointerup", function () { drag = null; });
    wrap.addEventListener("pointercancel", function () { drag = null; });
    window.addEventListener("resize", function () {
      if (!source || !singleOpen()) { return; }
      // keep the image point at the viewport's centre where it is, at the same zoom
      var before = viewport(), scale = fit * zoom;
      var cx = (before.w / 2 - panX) / scale, cy = (before.h / 2 - panY) / scale;
      window.requestAnimationFrame(function () {
        var after = viewport();
        fitToViewport();
        panX = after.w / 2 - cx * fit * zoom;
        panY = after.h / 2 - cy * fit * zoom;
        applyZoom();
      });
    });
  }

  /* ---------------------------------------------------------------- keys */
  // Ctrl + arrow moves the image a tenth of the viewport (the image follows the arrow).
  var PAN_KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.ctrlKey && singleOpen() && !isTextEntry(event.target) && PAN_KEYS[event.key]) {
      var room = viewport(), step = PAN_KEYS[event.key];
      event.preventDefault();
      pan(step[0] * room.w / 10, step[1] * room.h / 10);
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
