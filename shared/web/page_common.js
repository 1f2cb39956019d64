// Shared by the app's pages (shared/web/pages.py inlines it before the page's own script): window.OpsPage.
//
// The function key: a `?code=` in the first URL is moved to this tab's sessionStorage and removed from the
// address bar at once; otherwise the page asks for it once. It is sent only as the x-functions-key header,
// never in a URL, and never logged. With OPERATIONS_AUTH=entra (the meta tag says so) there is no key: App
// Service Authentication's session cookie goes with each request and a 401 offers the sign-in.
(() => {
  'use strict';
  const KEY_STORAGE = 'outboundLogs.functionKey';  // one key for every page of this tab
  const meta = document.querySelector('meta[name="operations-auth"]');
  const entra = Boolean(meta) && meta.content === 'entra';
  // /api/<area>/page -> /api: the pages and the JSON routes share the prefix.
  const BASE = location.pathname.replace(/\/[^/]+\/page\/?$/, '');
  const TABS = [
    { id: 'overview', label: 'Overview', href: BASE + '/operations/page#overview' },
    { id: 'dead-letters', label: 'Dead letters', href: BASE + '/operations/page#dead-letters' },
    { id: 'logs', label: 'Outbound logs', href: BASE + '/outbound-logs/page' },
  ];

  function el(tag, className, ...children) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function takeKeyFromUrl() {
    const url = new URL(location.href);
    if (!url.searchParams.has('code')) return;
    const code = url.searchParams.get('code');
    if (code && !entra) sessionStorage.setItem(KEY_STORAGE, code);
    url.searchParams.delete('code');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  }
  const functionKey = () => sessionStorage.getItem(KEY_STORAGE) || '';
  const hasAccess = () => entra || Boolean(functionKey());

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || ('HTTP ' + status));
      this.status = status;
      this.problem = problem || {};
    }
  }

  // A JSON route of the app (`BASE + '/stats?...'`); `body` makes it a POST of JSON.
  async function api(path, body) {
    const headers = { accept: 'application/json' };
    if (!entra) {
      const key = functionKey();
      if (!key) throw new ApiError(401, { title: 'No function key' });
      headers['x-functions-key'] = key;
    }
    const init = { headers, cache: 'no-store', credentials: entra ? 'same-origin' : 'omit',
      referrerPolicy: 'no-referrer' };
    if (body !== undefined) {
      init.method = 'POST';
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let answer = null;
    try { answer = await response.json(); } catch (e) { answer = null; }
    if (!response.ok) throw new ApiError(response.status, answer);
    return answer;
  }

  function describe(error) {
    if (!(error instanceof ApiError)) return 'the app could not be reached (' + error.message + ')';
    return error.message;
  }

  // The panel that asks for the key (or offers the sign-in); `onAccess` runs once a key is given.
  function accessPanel(container, onAccess) {
    container.className = 'notice';
    container.hidden = true;
    const reason = el('div', 'reason');
    container.append(reason);
    if (entra) {
      const link = el('a', null, 'Sign in');
      link.href = '/.auth/login/aad?post_login_redirect_uri=' + encodeURIComponent(location.pathname + location.hash);
      container.append(el('p', null, link));
    } else {
      const input = el('input');
      input.type = 'password';
      input.id = 'key-input';
      input.placeholder = 'Function key';
      input.autocomplete = 'off';
      const label = el('label', 'visually-hidden', 'Function key');
      label.htmlFor = 'key-input';
      const button = el('button', 'primary', 'Use key');
      button.type = 'submit';
      const form = el('form', null, label, input, button);
      form.id = 'key-form';
      form.addEventListener('submit', (event) => {
        event.preventDefault();
        const value = input.value.trim();
        input.value = '';
        if (!value) return;
        sessionStorage.setItem(KEY_STORAGE, value);
        container.hidden = true;
        onAccess();
      });
      container.append(form);
    }
    return {
      show(error) {
        const status = error ? error.status : 401;
        if (entra) {
          reason.textContent = status === 403 ? describe(error)
            : 'This page shows the app with your organisation account: sign in.';
        } else {
          reason.textContent = functionKey() && status === 401
            ? 'The function key was not accepted: paste a valid key.'
            : 'This page reads the app with its function key: paste it here (kept for this tab only, sent as a header).';
        }
        container.hidden = false;
        const input = container.querySelector('input');
        if (input) input.focus();
      },
      hide() { container.hidden = true; },
    };
  }

  function nav(current) {
    const bar = el('nav', 'tabs');
    bar.setAttribute('aria-label', 'Operations');
    for (const tab of TABS) {
      const link = el('a', null, tab.label);
      link.href = tab.href;
      link.dataset.tab = tab.id;
      if (tab.id === current) link.setAttribute('aria-current', 'page');
      bar.append(link);
    }
    return bar;
  }

  const pad = (n, width = 2) => String(n).padStart(width, '0');
  function localTime(iso, withMs = true) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso || '';
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + pad(d.getHours()) + ':' +
      pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + (withMs ? '.' + pad(d.getMilliseconds(), 3) : '');
  }
  // A datetime-local input's value as ISO 8601 UTC, and back.
  const isoFromLocal = (value) => (value ? new Date(value).toISOString() : null);
  function localInput(date) {
    return date.getFullYear() + '-' + pad(date.getMonth() + 1) + '-' + pad(date.getDate()) + 'T' +
      pad(date.getHours()) + ':' + pad(date.getMinutes()) + ':' + pad(date.getSeconds());
  }

  function statusBadge(code) {
    if (code === null || code === undefined) {
      const badge = el('span', 'badge snone', 'none');
      badge.title = 'No response: network error or timeout';
      return badge;
    }
    return el('span', 'badge s' + String(code).charAt(0), String(code));
  }

  const targetName = (target) => (target === 'inquba' ? 'inQuba' : target === 'insider' ? 'Insider' : (target || ''));

  takeKeyFromUrl();
  window.OpsPage = Object.freeze({
    BASE, entra, el, api, ApiError, describe, accessPanel, nav, hasAccess, localTime, isoFromLocal, localInput,
    statusBadge, targetName,
  });
})();
