// Progressive enhancement: drop a picture anywhere on the page, or paste one (Ctrl+V), to find images like it.
// Both fill the upload form's file field and submit it, the same request as choosing a file and "Find similar".
(() => {
  const form = document.querySelector('form.upload'), input = form && form.querySelector('input[type=file]');
  if (!form || !input || !window.DataTransfer) return;
  const note = form.querySelector('.upload-note'), hint = form.querySelector('.drop-hint');
  if (hint) hint.hidden = false;
  const say = text => { if (note) note.textContent = text; };
  const send = file => {
    if (!file.type.startsWith('image/')) { say(`“${file.name}” is not a picture: drop or paste an image file.`); return; }
    const dt = new DataTransfer();
    dt.items.add(file);
    input.files = dt.files;
    document.body.classList.add('uploading');
    say(`Searching by “${file.name}”…`);
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  };
  const carriesFiles = e => !!e.dataTransfer && Array.from(e.dataTransfer.types || []).includes('Files');
  let depth = 0;  // dragenter and dragleave fire for every element crossed: count them
  const done = () => { depth = 0; document.body.classList.remove('dropping'); };
  document.addEventListener('dragenter', e => { if (carriesFiles(e)) { depth++; document.body.classList.add('dropping'); } });
  document.addEventListener('dragleave', e => { if (carriesFiles(e) && --depth <= 0) done(); });
  document.addEventListener('dragover', e => { if (carriesFiles(e)) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; } });
  document.addEventListener('drop', e => {
    done();
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (!file) return;  // text or a link: the browser's own way
    e.preventDefault();
    send(file);
  });
  document.addEventListener('paste', e => {
    const file = Array.from((e.clipboardData && e.clipboardData.files) || []).find(f => f.type.startsWith('image/'));
    if (!file) return;  // text pastes into the search box as usual
    e.preventDefault();
    send(file);
  });
})();
