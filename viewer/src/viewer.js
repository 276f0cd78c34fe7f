// The reading page's DICOM viewer on Cornerstone3D (docs/reading.md, "DICOM viewer").
// Boots on #dicom-viewer (data-index-url: the case's series list), one stack viewport per
// series, side by side, with synced scrolling. Built by `make viewer` into
// static/readerstudy/viewer/viewer.js.
import {
  Enums,
  RenderingEngine,
  getRenderingEngine,
  imageLoader,
  init as coreInit,
  metaData,
} from "@cornerstonejs/core";
import {
  Enums as ToolsEnums,
  LengthTool,
  PanTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
  annotation,
  init as toolsInit,
} from "@cornerstonejs/tools";
import { init as loaderInit } from "@cornerstonejs/dicom-image-loader";

const ENGINE = "rs-engine";
const GROUP = "rs-tools";
const { MouseBindings, KeyboardBindings } = ToolsEnums;

function voiPresets(imageId) {
  // Window centre/width pairs of the DICOM header (VOI LUT module), each one preset.
  const voi = metaData.get("voiLutModule", imageId) || {};
  const centers = [].concat(voi.windowCenter ?? []);
  const widths = [].concat(voi.windowWidth ?? []);
  const presets = [];
  for (let i = 0; i < Math.min(centers.length, widths.length); i++) {
    const c = Number(centers[i]);
    const w = Number(widths[i]);
    if (Number.isFinite(c) && Number.isFinite(w) && w >= 1) {
      presets.push({ label: `C ${c} / W ${w}`, center: c, width: w });
    }
  }
  return presets;
}

function rangeOf(center, width) {
  // DICOM PS3.3 C.11.2.1.2 (linear): the window [c - 0.5 - (w-1)/2, c - 0.5 + (w-1)/2].
  return { lower: center - 0.5 - (width - 1) / 2, upper: center - 0.5 + (width - 1) / 2 };
}

async function boot(root) {
  const status = root.querySelector("[data-role=status]");
  const grid = root.querySelector("[data-role=viewports]");
  const presetSelect = root.querySelector("[data-role=presets]");
  const syncBox = root.querySelector("[data-role=sync]");
  const started = performance.now();
  root.dataset.startMs = started.toFixed(1);

  // The series list is in the page (#dicom-series); the JSON view is the fallback.
  const inline = document.getElementById("dicom-series");
  let series;
  if (inline) {
    series = JSON.parse(inline.textContent);
  } else {
    const response = await fetch(root.dataset.indexUrl, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`series list: HTTP ${response.status}`);
    series = (await response.json()).series;
  }
  if (!series.length) {
    status.textContent = "This case has no DICOM series.";
    return;
  }

  root.dataset.indexMs = performance.now().toFixed(1);
  await coreInit();
  toolsInit();
  loaderInit({ maxWebWorkers: Math.min(2, navigator.hardwareConcurrency || 1) });
  const engine = new RenderingEngine(ENGINE);

  const viewports = [];
  for (const s of series) {
    const cell = document.createElement("div");
    cell.className = "dv-cell";
    cell.dataset.series = String(s.series);
    const label = document.createElement("div");
    label.className = "dv-label";
    label.setAttribute("aria-live", "polite");
    const element = document.createElement("div");
    element.className = "dv-element";
    element.oncontextmenu = (e) => e.preventDefault();
    cell.append(element, label);
    grid.append(cell);
    const id = `series-${s.series}`;
    engine.enableElement({ viewportId: id, type: Enums.ViewportType.STACK, element });
    const imageIds = s.instances.map((url) => `wadouri:${new URL(url, location.href).href}`);
    viewports.push({ id, element, label, cell, imageIds, series: s.series });
  }

  addTool(WindowLevelTool);
  addTool(PanTool);
  addTool(ZoomTool);
  addTool(StackScrollTool);
  addTool(LengthTool);
  const tools = ToolGroupManager.createToolGroup(GROUP);
  for (const name of [WindowLevelTool, PanTool, ZoomTool, StackScrollTool, LengthTool]) {
    tools.addTool(name.toolName);
  }
  for (const v of viewports) tools.addViewport(v.id, ENGINE);

  let measuring = false;
  function bindTools() {
    const primary = [{ mouseButton: MouseBindings.Primary }];
    tools.setToolPassive(WindowLevelTool.toolName);
    tools.setToolPassive(LengthTool.toolName);
    tools.setToolActive(measuring ? LengthTool.toolName : WindowLevelTool.toolName, {
      bindings: primary,
    });
    tools.setToolActive(PanTool.toolName, {
      bindings: [
        { mouseButton: MouseBindings.Secondary },
        { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Ctrl },
      ],
    });
    tools.setToolActive(ZoomTool.toolName, {
      bindings: [
        { mouseButton: MouseBindings.Auxiliary },
        { mouseButton: MouseBindings.Primary, modifierKey: KeyboardBindings.Shift },
      ],
    });
    tools.setToolActive(StackScrollTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Wheel }],
    });
    root.querySelector("[data-role=measure]").setAttribute("aria-pressed", String(measuring));
  }

  let active = 0;
  function viewportOf(v) {
    return engine.getViewport(v.id);
  }
  function showLabel(v) {
    const vp = viewportOf(v);
    const index = vp.getCurrentImageIdIndex();
    const voi = vp.getProperties().voiRange;
    const wl = voi
      ? ` · W ${Math.round(voi.upper - voi.lower + 1)} L ${Math.round((voi.upper + voi.lower + 1) / 2)}`
      : "";
    v.label.textContent = `Series ${v.series} · slice ${index + 1} / ${v.imageIds.length}${wl}`;
    v.cell.dataset.slice = String(index + 1);
  }
  function setActive(i) {
    active = (i + viewports.length) % viewports.length;
    viewports.forEach((v, j) => v.cell.classList.toggle("dv-active", j === active));
    const v = viewports[active];
    status.textContent = `Active: series ${v.series}, slice ${viewportOf(v).getCurrentImageIdIndex() + 1} of ${v.imageIds.length}`;
    fillPresets();
  }
  function fillPresets() {
    const v = viewports[active];
    const vp = viewportOf(v);
    const imageId = vp.getCurrentImageId();
    presetSelect.replaceChildren(new Option("Window presets (header)", ""));
    for (const p of voiPresets(imageId)) {
      const opt = new Option(p.label, `${p.center},${p.width}`);
      presetSelect.append(opt);
    }
    presetSelect.append(new Option("Full range of the image", "full"));
  }

  for (const [i, v] of viewports.entries()) {
    v.element.addEventListener(Enums.Events.STACK_NEW_IMAGE, () => {
      showLabel(v);
      if (i === active) {
        status.textContent = `Active: series ${v.series}, slice ${viewportOf(v).getCurrentImageIdIndex() + 1} of ${v.imageIds.length}`;
      }
      const index = viewportOf(v).getCurrentImageIdIndex();
      // A slice this viewport was sent to by the sync itself: not passed on again.
      if (v.syncedTo === index) {
        v.syncedTo = undefined;
        return;
      }
      if (!syncBox.checked) return;
      for (const o of viewports) {
        if (o === v) continue;
        const target = Math.min(index, o.imageIds.length - 1);
        if (viewportOf(o).getCurrentImageIdIndex() === target) continue;
        o.syncedTo = target;
        viewportOf(o).setImageIdIndex(target);
      }
    });
    v.element.addEventListener(Enums.Events.VOI_MODIFIED, () => showLabel(v));
    v.element.addEventListener("pointerdown", () => {
      if (active !== i) setActive(i);
      root.focus({ preventScroll: true });
    });
  }

  bindTools();
  let first = true;
  await Promise.all(
    viewports.map(async (v) => {
      const vp = viewportOf(v);
      v.element.addEventListener(
        Enums.Events.IMAGE_RENDERED,
        () => {
          if (first) {
            first = false;
            // performance.now() counts from the navigation start: page, bundle, series list,
            // first DICOM file, decode and render.
            root.dataset.firstImageMs = performance.now().toFixed(1);
          }
        },
        { once: true },
      );
      await vp.setStack(v.imageIds, 0);
      vp.render();
      showLabel(v);
    }),
  );
  setActive(0);
  root.dataset.ready = "1";
  root.dataset.readyMs = performance.now().toFixed(1);
  root.dataset.bootMs = (performance.now() - started).toFixed(1);
  // Then the rest of every stack, into the image cache, so that scrolling never waits for
  // the network: one series after another, the active one first.
  (async () => {
    for (const v of viewports) {
      for (const imageId of v.imageIds) {
        try {
          await imageLoader.loadAndCacheImage(imageId);
        } catch {
          // shown when scrolled to (the viewport reports it)
        }
      }
    }
    root.dataset.cached = "1";
  })();

  function scroll(delta) {
    const v = viewports[active];
    const vp = viewportOf(v);
    const next = Math.max(0, Math.min(v.imageIds.length - 1, vp.getCurrentImageIdIndex() + delta));
    return vp.setImageIdIndex(next);
  }
  function zoom(factor) {
    const vp = viewportOf(viewports[active]);
    vp.setZoom(vp.getZoom() * factor);
    vp.render();
  }
  function pan(dx, dy) {
    const vp = viewportOf(viewports[active]);
    const [x, y] = vp.getPan();
    vp.setPan([x + dx, y + dy]);
    vp.render();
  }
  function voi(dWidth, dCenter) {
    const vp = viewportOf(viewports[active]);
    const { lower, upper } = vp.getProperties().voiRange;
    const width = Math.max(1, upper - lower + dWidth);
    const center = (upper + lower) / 2 + dCenter;
    vp.setProperties({ voiRange: { lower: center - width / 2, upper: center + width / 2 } });
    vp.render();
  }
  function setPreset(value) {
    const vp = viewportOf(viewports[active]);
    if (value === "full") {
      const data = vp.getImageData();
      const [lower, upper] = data ? data.imageData.getPointData().getScalars().getRange() : [0, 1];
      vp.setProperties({ voiRange: { lower, upper: Math.max(upper, lower + 1) } });
    } else if (value) {
      const [c, w] = value.split(",").map(Number);
      vp.setProperties({ voiRange: rangeOf(c, w) });
    }
    vp.render();
  }
  function invert() {
    const vp = viewportOf(viewports[active]);
    vp.setProperties({ invert: !vp.getProperties().invert });
    vp.render();
  }
  function reset() {
    for (const v of viewports) {
      const vp = viewportOf(v);
      vp.resetProperties();
      vp.resetCamera();
      vp.render();
      showLabel(v);
    }
  }

  presetSelect.addEventListener("change", () => setPreset(presetSelect.value));
  root.querySelector("[data-role=invert]").addEventListener("click", invert);
  root.querySelector("[data-role=reset]").addEventListener("click", reset);
  root.querySelector("[data-role=zoom-in]").addEventListener("click", () => zoom(1.25));
  root.querySelector("[data-role=zoom-out]").addEventListener("click", () => zoom(0.8));
  root.querySelector("[data-role=measure]").addEventListener("click", () => {
    measuring = !measuring;
    bindTools();
  });
  root.querySelector("[data-role=clear]").addEventListener("click", () => {
    annotation.state.removeAllAnnotations();
    engine.render();
  });

  // The keys work on the whole page as in the thumbnails viewer, except in form fields and
  // on links and buttons outside the viewer (digits and Ctrl+Enter stay with reading_case.js).
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.metaKey || (e.ctrlKey && e.key === "Enter")) return;
    if (t.closest && t.closest("input, textarea, select, [contenteditable]")) return;
    if (t.closest && !root.contains(t) && t.closest("a, button, summary")) return;
    const k = e.key;
    const step = e.altKey ? 1 : 10;
    let handled = true;
    if (e.shiftKey && k === "ArrowLeft") voi(-4 * step, 0);
    else if (e.shiftKey && k === "ArrowRight") voi(4 * step, 0);
    else if (e.shiftKey && k === "ArrowUp") voi(0, step);
    else if (e.shiftKey && k === "ArrowDown") voi(0, -step);
    else if (e.ctrlKey && k === "ArrowLeft") pan(-20, 0);
    else if (e.ctrlKey && k === "ArrowRight") pan(20, 0);
    else if (e.ctrlKey && k === "ArrowUp") pan(0, -20);
    else if (e.ctrlKey && k === "ArrowDown") pan(0, 20);
    else if (k === "ArrowDown" || k === "PageDown") scroll(1);
    else if (k === "ArrowUp" || k === "PageUp") scroll(-1);
    else if (k === "Home") scroll(-1e6);
    else if (k === "End") scroll(1e6);
    else if (k === "ArrowRight") setActive(active + 1);
    else if (k === "ArrowLeft") setActive(active - 1);
    else if (k === "+" || k === "=") zoom(1.25);
    else if (k === "-") zoom(0.8);
    else if (k === "i" || k === "I") invert();
    else if (k === "r" || k === "R") reset();
    else if (k === "m" || k === "M") {
      measuring = !measuring;
      bindTools();
    } else handled = false;
    if (handled) e.preventDefault();
  });

  // For tests and the benchmark: the engine, viewports and one annotation count.
  window.readerstudyViewer = {
    engine: () => getRenderingEngine(ENGINE),
    viewportIds: viewports.map((v) => v.id),
    annotations: () => annotation.state.getAllAnnotations().length,
    // Scroll the active stack `steps` times, waiting for each slice to be drawn: frames/s.
    async scrollRate(steps) {
      const v = viewports[active];
      const vp = viewportOf(v);
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) {
        const drawn = new Promise((resolve) =>
          v.element.addEventListener(Enums.Events.IMAGE_RENDERED, resolve, { once: true }),
        );
        await vp.setImageIdIndex((vp.getCurrentImageIdIndex() + 1) % v.imageIds.length);
        await drawn;
      }
      return (steps * 1000) / (performance.now() - t0);
    },
    rangeOf,
  };
}

const root = document.getElementById("dicom-viewer");
if (root) {
  boot(root).catch((err) => {
    const status = root.querySelector("[data-role=status]");
    if (status) status.textContent = `The viewer could not start: ${err.message}`;
    root.dataset.error = String(err.message);
    throw err;
  });
}
