// Progressive enhancement for the dashboard; every page works without it.
// - `data-autosubmit` selects submit their form when changed (the button stays for no-JS).
// - `data-confirm` forms ask before submitting.
// - `data-copy="<id>"` buttons copy the value of the element with that id.
(function () {
  'use strict';
  document.querySelectorAll('select[data-autosubmit]').forEach(function (select) {
    select.addEventListener('change', function () {
      if (select.form) select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    });
  });
  document.querySelectorAll('form[data-confirm]').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
    });
  });
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var target = document.getElementById(button.getAttribute('data-copy'));
      if (!target) return;
      var text = 'value' in target ? target.value : target.textContent;
      var done = function () {
        var label = button.textContent;
        button.textContent = 'Copied';
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () { target.select && target.select(); });
      } else if (target.select) {
        target.select();
        document.execCommand('copy');
        done();
      }
    });
  });
})();
