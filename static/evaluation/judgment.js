/* Pairwise, acceptability and error-annotation pages: keyboard answers, autosave of the
   draft, Enter submits. Error pages: the text is split into words (offsets in code points, as
   the server counts them); a selection of words (mouse, or arrows in the text) is tagged with
   a category key, and the marked errors are kept in the hidden "errors" field as JSON. */
(function () {
  "use strict";
  var form = document.getElementById("judgment-form");
  if (!form) { return; }
  var fieldset = form.querySelector(".judgment-choices");
  if (!fieldset || fieldset.disabled) { return; }
  var instrument = form.getAttribute("data-instrument");
  var pairwise = instrument === "pairwise";
  var marking = instrument === "errors" ? errorMarking() : null;
  var versionInput = form.querySelector('input[name="version"]');
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var statusBox = document.getElementById("save-status");
  var submitButton = document.getElementById("submit-button");
  var url = form.getAttribute("data-draft-url");
  var inflight = null;
  var again = false;
  var timer = null;

  function checked(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : null;
  }

  function answer() {
    if (marking) { return marking.answer(); }
    if (!pairwise) { return { grade: checked("grade") }; }
    var comment = form.querySelector('textarea[name="comment"]');
    var strength = checked("strength");
    return {
      choice: checked("choice"),
      strength: strength === null ? null : parseInt(strength, 10),
      comment: comment ? comment.value : ""
    };
  }

  function say(text, isError) {
    statusBox.textContent = text;
    statusBox.classList.toggle("error", Boolean(isError));
  }

  function save() {
    if (inflight) { again = true; return inflight; }
    say("Saving…", false);
    inflight = fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ version: parseInt(versionInput.value, 10), scores: answer() })
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (result.status === 200) {
        versionInput.value = result.data.version;
        say("Draft saved.", false);
      } else {
        if (result.data.version !== undefined) { versionInput.value = result.data.version; }
        say(result.data.error || "The draft could not be saved.", true);
      }
    }).catch(function () {
      say("Not saved: the connection failed. Your choice stays on this page.", true);
    }).then(function () {
      inflight = null;
      if (again) { again = false; return save(); }
      return null;
    });
    return inflight;
  }

  function pick(name, value) {
    var input = form.querySelector('input[name="' + name + '"][value="' + value + '"]');
    if (!input) { return false; }
    input.checked = true;
    input.focus();
    save();
    return true;
  }

  function submitNow() {
    // The version must be the one of the last saved draft: wait for a pending save.
    var pending = inflight || Promise.resolve();
    pending.then(function () { form.requestSubmit(submitButton); });
  }

  function saveSoon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 800);
  }

  form.addEventListener("change", function () { save(); });
  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.tagName === "TEXTAREA" || (target.classList && target.classList.contains("comment"))) {
      saveSoon();
    }
  });
  form.addEventListener("submit", function (event) {
    if (inflight) { event.preventDefault(); submitNow(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var tag = event.target ? event.target.tagName : "";
    if (tag === "TEXTAREA" || (tag === "INPUT" && event.target.type === "text")) { return; }
    if (tag === "SELECT" || tag === "BUTTON") { return; }
    var key = event.key;
    var done = false;
    if (marking && key !== "Enter") {
      var outcome = marking.key(event);  // 0: not ours, 1: handled, 2: handled, save
      if (outcome) { event.preventDefault(); }
      if (outcome === 2) { save(); }
      return;
    }
    if (key === "Enter") {
      event.preventDefault();
      submitNow();
      return;
    }
    if (pairwise) {
      if (key === "ArrowLeft") { done = pick("choice", "left"); }
      else if (key === "ArrowDown" || key === "=") { done = pick("choice", "tie"); }
      else if (key === "ArrowRight") { done = pick("choice", "right"); }
      else if (/^[1-5]$/.test(key)) { done = pick("strength", key); }
    } else {
      var input = fieldset.querySelector('input[data-key="' + key + '"]');
      if (input) { done = pick("grade", input.value); }
    }
    if (done) { event.preventDefault(); }
  });

  var first = marking ? marking.box : (form.querySelector("input:checked") || fieldset.querySelector("input"));
  if (first) { first.focus(); }

  function errorMarking() {
    var box = document.getElementById("text-single");
    var hidden = document.getElementById("errors-input");
    var list = document.getElementById("error-list");
    var none = document.getElementById("no-errors");
    var categories = [];
    var keys = {};
    Array.prototype.forEach.call(form.querySelectorAll("button.category"), function (button) {
      categories.push({ value: button.getAttribute("data-category"), label: button.getAttribute("data-label") });
      keys[button.getAttribute("data-key")] = button.getAttribute("data-category");
    });
    var errors = [];
    try { errors = JSON.parse(hidden.value || "[]"); } catch (e) { errors = []; }
    var chars = Array.from(box.textContent);
    var tokens = [];
    var anchor = null;
    var cursor = null;
    var selection = null;

    // The words of the text as <span class="tok">, with their code-point offsets.
    box.textContent = "";
    var i = 0;
    while (i < chars.length) {
      var j = i;
      var space = /\s/.test(chars[i]);
      while (j < chars.length && /\s/.test(chars[j]) === space) { j += 1; }
      var piece = chars.slice(i, j).join("");
      if (space) {
        box.appendChild(document.createTextNode(piece));
      } else {
        var span = document.createElement("span");
        span.className = "tok";
        span.textContent = piece;
        span.setAttribute("data-i", String(tokens.length));
        tokens.push({ start: i, end: j, el: span });
        box.appendChild(span);
      }
      i = j;
    }

    function quote(error) {
      return error.start === undefined ? "" : chars.slice(error.start, error.end).join("");
    }

    function paint() {
      tokens.forEach(function (t, k) {
        var marked = false;
        var significant = false;
        errors.forEach(function (e) {
          if (e.start !== undefined && t.start < e.end && e.start < t.end) {
            marked = true;
            significant = significant || e.significant;
          }
        });
        t.el.classList.toggle("marked", marked);
        t.el.classList.toggle("significant", significant);
        t.el.classList.toggle("selected", selection !== null && k >= selection[0] && k <= selection[1]);
        t.el.classList.toggle("cursor", k === cursor);
      });
    }

    function render() {
      hidden.value = JSON.stringify(errors);
      list.textContent = "";
      errors.forEach(function (error, index) {
        var li = document.createElement("li");
        var q = document.createElement("span");
        q.className = "quote";
        q.textContent = error.start === undefined ? "(no place in the text)" : "\u201c" + quote(error) + "\u201d";
        li.appendChild(q);
        li.appendChild(document.createTextNode(" "));
        var select = document.createElement("select");
        select.setAttribute("aria-label", "Category of error " + (index + 1));
        categories.forEach(function (c) {
          var option = document.createElement("option");
          option.value = c.value;
          option.textContent = c.label;
          option.selected = c.value === error.category;
          select.appendChild(option);
        });
        select.addEventListener("change", function () { error.category = select.value; render(); });
        li.appendChild(select);
        var label = document.createElement("label");
        var box2 = document.createElement("input");
        box2.type = "checkbox";
        box2.className = "significant";
        box2.checked = Boolean(error.significant);
        box2.addEventListener("change", function () { error.significant = box2.checked; render(); });
        label.appendChild(box2);
        label.appendChild(document.createTextNode(" clinically significant"));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(label);
        var comment = document.createElement("input");
        comment.type = "text";
        comment.className = "comment";
        comment.maxLength = 2000;
        comment.placeholder = "Comment (optional)";
        comment.setAttribute("aria-label", "Comment on error " + (index + 1));
        comment.value = error.comment || "";
        comment.addEventListener("input", function () {
          if (comment.value) { error.comment = comment.value; } else { delete error.comment; }
          hidden.value = JSON.stringify(errors);
        });
        li.appendChild(document.createTextNode(" "));
        li.appendChild(comment);
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "secondary remove";
        remove.textContent = "Remove";
        remove.addEventListener("click", function () { errors.splice(index, 1); render(); save(); });
        li.appendChild(document.createTextNode(" "));
        li.appendChild(remove);
        list.appendChild(li);
      });
      none.disabled = errors.length > 0;
      paint();
    }

    function tag(category) {
      var error = { category: category, significant: false };
      if (selection !== null) {
        error.start = tokens[selection[0]].start;
        error.end = tokens[selection[1]].end;
      }
      errors.push(error);
      selection = null;
      anchor = null;
      none.checked = false;
      render();
    }

    function move(step, extend) {
      if (!tokens.length) { return; }
      cursor = cursor === null ? (step > 0 ? 0 : tokens.length - 1) : Math.max(0, Math.min(tokens.length - 1, cursor + step));
      if (!extend || anchor === null) { anchor = cursor; }
      selection = [Math.min(anchor, cursor), Math.max(anchor, cursor)];
      tokens[cursor].el.scrollIntoView({ block: "nearest" });
      paint();
    }

    box.addEventListener("mouseup", function () {
      var range = window.getSelection();
      if (!range || range.rangeCount === 0 || range.isCollapsed) { return; }
      var r = range.getRangeAt(0);
      var hit = tokens.map(function (t, k) { return r.intersectsNode(t.el) ? k : -1; }).filter(function (k) { return k >= 0; });
      if (hit.length) {
        selection = [hit[0], hit[hit.length - 1]];
        anchor = selection[0];
        cursor = selection[1];
      }
      range.removeAllRanges();
      box.focus();
      paint();
    });
    Array.prototype.forEach.call(form.querySelectorAll("button.category"), function (button) {
      button.addEventListener("click", function () {
        tag(button.getAttribute("data-category"));
        box.focus();
        save();
      });
    });
    none.addEventListener("change", function () { render(); });

    render();
    return {
      box: box,
      answer: function () { return { no_errors: none.checked, errors: errors }; },
      key: function (event) {
        var key = event.key;
        var inText = event.target === box;
        if (inText && (key === "ArrowRight" || key === "ArrowLeft")) {
          move(key === "ArrowRight" ? 1 : -1, event.shiftKey);
          return 1;  // nothing to save yet
        }
        if (key === "Escape") { selection = null; anchor = null; paint(); return 1; }
        if (keys[key]) { tag(keys[key]); return 2; }
        if (key === "s" || key === "S") {
          if (!errors.length) { return 0; }
          var last = errors[errors.length - 1];
          last.significant = !last.significant;
          render();
          return 2;
        }
        if (key === "Delete" || key === "Backspace") {
          if (!errors.length) { return 0; }
          errors.pop();
          render();
          return 2;
        }
        if (key === "0" && !errors.length) { none.checked = !none.checked; return 2; }
        return 0;
      }
    };
  }
})();
