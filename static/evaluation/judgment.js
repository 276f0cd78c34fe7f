/* Pairwise and acceptability pages: keyboard answers, autosave of the draft, Enter submits. */
(function () {
  "use strict";
  var form = document.getElementById("judgment-form");
  if (!form) { return; }
  var fieldset = form.querySelector(".judgment-choices");
  if (!fieldset || fieldset.disabled) { return; }
  var pairwise = form.getAttribute("data-instrument") === "pairwise";
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

  form.addEventListener("change", function () { save(); });
  var comment = form.querySelector('textarea[name="comment"]');
  if (comment) {
    comment.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(save, 800);
    });
  }
  form.addEventListener("submit", function (event) {
    if (inflight) { event.preventDefault(); submitNow(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    if (event.target && event.target.tagName === "TEXTAREA") { return; }
    var key = event.key;
    var done = false;
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

  var first = form.querySelector("input:checked") || fieldset.querySelector("input");
  if (first) { first.focus(); }
})();
