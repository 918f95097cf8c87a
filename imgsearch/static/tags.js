// Progressive enhancement: refresh the search box's <datalist> from /api/tags as the user types, and "/" to search.
// The page works without it: the server fills the datalist with the most frequent tags.
(() => {
  const box = document.querySelector('form.search input[name=q]'), list = document.getElementById('tags');
  if (!box || !list || !window.fetch) return;
  let timer = null, last = null;
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const prefix = box.value.trim();
      if (!prefix || prefix === last) return;
      last = prefix;
      try {
        const r = await fetch(box.dataset.tags + '?n=12&prefix=' + encodeURIComponent(prefix));
        if (!r.ok) return;
        const data = await r.json();
        list.replaceChildren(...data.tags.map(t => Object.assign(document.createElement('option'), {value: t.tag})));
      } catch (e) { /* offline or server gone: keep the old suggestions */ }
    }, 150);
  });
})();

// Keyboard: '/' puts the cursor in the search box from anywhere on the page (as on GitHub and in many search apps),
// unless the user is typing in a field already.
document.addEventListener('keydown', e => {
  const box = document.querySelector('form.search input[name=q]'), t = e.target;
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || !box) return;
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
  e.preventDefault(); box.focus(); box.select();
});
