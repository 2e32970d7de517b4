// The menu's counts (complaints waiting for review, unhandled inbox messages), kept current
// while a console page is open; the page title carries their sum for a tab in the background.
(() => {
  const menu = document.querySelector('nav.menu[data-counts-url]');
  const badges = menu ? menu.querySelectorAll('[data-count]') : [];
  if (!badges.length) return;
  const every = Number(menu.dataset.refreshS || 10) * 1000;
  const title = document.title.replace(/^\(\d+\) /, '');
  let timer = null;

  function show(counts) {
    let total = 0;
    badges.forEach((badge) => {
      const n = counts[badge.dataset.count];
      if (typeof n !== 'number') return;
      total += n;
      badge.textContent = String(n);
      badge.hidden = n === 0;
    });
    document.title = (total ? `(${total}) ` : '') + title;
  }

  async function refresh() {
    timer = null;
    try {
      const resp = await fetch(menu.dataset.countsUrl, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
        redirect: 'manual',
      });
      // Signed out (a redirect to the login page) or refused: stop asking.
      if (resp.type === 'opaqueredirect' || resp.status === 401 || resp.status === 403) return;
      if (resp.ok) show(await resp.json());
    } catch (err) {
      // The gateway is away for a moment (restart, network): the next round tries again.
    }
    if (!document.hidden) timer = setTimeout(refresh, every);
  }

  // A tab in the background asks nothing; coming back, it refreshes at once.
  document.addEventListener('visibilitychange', () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (!document.hidden) refresh();
  });
  timer = setTimeout(refresh, every);
})();
