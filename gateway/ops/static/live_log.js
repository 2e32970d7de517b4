// The live ingestion log: new rows from /ops/events/stream, and the connection's state.
(() => {
  const tbody = document.getElementById('log');
  const LABELS = JSON.parse(tbody.dataset.labels);
  const status = document.getElementById('sambungan');
  // The column names, for the stacked rows a phone shows.
  const HEADS = Array.from(document.querySelectorAll('table.daftar thead th'), (th) => th.textContent);
  const STATES = {
    open: 'Tersambung — entri baru tampil langsung.',
    connecting: 'Terputus — mencoba menyambung lagi… Entri yang terlewat akan menyusul.',
    shutdown: 'Gateway sedang berhenti — menyambung lagi begitu berjalan kembali…',
    ended: 'Sesi Anda berakhir (keluar, kata sandi, atau hak akses berubah). ',
  };
  function show(state) {
    status.dataset.state = state;
    status.className = 'sambungan ' + (state === 'open' ? 'tersambung' : 'terputus');
    status.textContent = STATES[state];
    if (state === 'ended') {
      const link = document.createElement('a');
      link.href = '/ops/login';
      link.textContent = 'Masuk lagi';
      status.appendChild(link);
    }
  }
  // A reconnect sends Last-Event-ID: the server resumes after the last row shown here.
  const source = new EventSource('/ops/events/stream?after=' + encodeURIComponent(tbody.dataset.after));
  source.onopen = () => show('open');
  source.onerror = () => {
    if (status.dataset.state === 'ended') return;
    // CLOSED: the answer was not a stream (the session is gone, the login page came back).
    if (source.readyState === EventSource.CLOSED) { show('ended'); return; }
    if (status.dataset.state !== 'shutdown') show('connecting');
  };
  source.addEventListener('end', (msg) => {
    if (msg.data === 'session') { source.close(); show('ended'); } else { show('shutdown'); }
  });
  source.onmessage = (msg) => {
    const e = JSON.parse(msg.data);
    const row = document.createElement('tr');
    const cells = [e.time, LABELS.kind[e.kind] || e.kind, e.channel || '-', e.region || '-',
                   LABELS.outcome[e.outcome] || e.outcome, e.reason || '', e.ref || ''];
    cells.forEach((text, i) => {
      const td = document.createElement('td');
      td.textContent = text;
      td.dataset.label = HEADS[i];
      if (i === 4) td.className = e.outcome;
      row.appendChild(td);
    });
    tbody.prepend(row);
    while (tbody.rows.length > 200) tbody.deleteRow(-1);
  };
})();
