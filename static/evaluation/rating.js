/* Item page: autosave of the draft (debounced, versioned), keyboard scoring, resume focus. */
(function () {
  "use strict";
  var form = document.getElementById("rating-form");
  if (!form) { return; }
  var rows = Array.prototype.slice.call(form.querySelectorAll(".likert-row"));
  var versionInput = form.querySelector('input[name="version"]');
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var statusBox = document.getElementById("save-status");
  var reviewButton = document.getElementById("review-button");
  var url = form.getAttribute("data-draft-url");
  var timer = null;
  var inflight = null;
  var again = false;
  var dirty = false;
  var submitting = false;

  function editable() { return rows.length > 0 && !rows[0].disabled; }

  function currentScores() {
    var out = {};
    rows.forEach(function (row) {
      var checked = row.querySelector("input:checked");
      out[row.getAttribute("data-key")] = checked ? parseInt(checked.value, 10) : null;
    });
    return out;
  }

  function applyScores(scores) {
    rows.forEach(function (row) {
      var value = scores[row.getAttribute("data-key")];
      row.querySelectorAll("input").forEach(function (input) {
        input.checked = value !== null && value !== undefined && parseInt(input.value, 10) === value;
      });
    });
  }

  function say(text, isError) {
    statusBox.textContent = text;
    statusBox.classList.toggle("error", Boolean(isError));
  }

  function save(keepalive) {
    if (inflight) { again = true; return inflight; }
    dirty = false;
    var body = JSON.stringify({ version: parseInt(versionInput.value, 10), scores: currentScores() });
    say("Saving…", false);
    inflight = fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(keepalive),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (result.status === 200) {
        versionInput.value = result.data.version;
        say("Draft saved.", false);
      } else if (result.status === 409 && result.data.version !== undefined) {
        versionInput.value = result.data.version;
        applyScores(result.data.scores || {});
        say(result.data.error, true);
      } else {
        say(result.data.error || "The draft could not be saved.", true);
      }
    }).catch(function () {
      dirty = true;
      say("Not saved: the connection failed. Your choices stay on this page and are saved at the next change.", true);
    }).then(function () {
      inflight = null;
      if (again) { again = false; return save(false); }
      return null;
    });
    return inflight;
  }

  function schedule() {
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(function () { timer = null; save(false); }, 400);
  }

  function focusRow(index) {
    if (index >= rows.length) {
      if (reviewButton) { reviewButton.focus(); }
      return;
    }
    if (index < 0) { return; }
    var row = rows[index];
    var target = row.querySelector("input:checked") || row.querySelector("input");
    if (target) { target.focus(); }
  }

  form.addEventListener("change", schedule);

  form.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || !event.target.closest) { return; }
    var row = event.target.closest(".likert-row");
    if (!row) { return; }
    var index = rows.indexOf(row);
    if (/^[0-9]$/.test(event.key)) {
      var input = row.querySelector('input[value="' + event.key + '"]');
      if (input && !input.disabled) {
        event.preventDefault();
        input.checked = true;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        focusRow(index + 1);
      }
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      focusRow(index + (event.key === "ArrowDown" ? 1 : -1));
    }
  });

  // Leaving for the review page: wait for the autosave so the version sent is the stored one.
  form.addEventListener("submit", function (event) {
    if (submitting || (!timer && !inflight && !dirty)) { return; }
    event.preventDefault();
    var submitter = event.submitter || reviewButton;
    window.clearTimeout(timer);
    timer = null;
    Promise.resolve(dirty ? save(false) : inflight).then(function () {
      submitting = true;
      if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
    });
  });

  window.addEventListener("pagehide", function () {
    if (timer && !submitting) { window.clearTimeout(timer); timer = null; save(true); }
  });

  if (editable()) {
    var firstOpen = rows.findIndex(function (row) { return !row.querySelector("input:checked"); });
    focusRow(firstOpen === -1 ? 0 : firstOpen);
  }
}());
