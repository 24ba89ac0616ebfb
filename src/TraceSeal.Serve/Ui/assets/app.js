// TraceSeal web UI: plain JS over serve's own APIs (Tempo /api/search and /api/v2/traces, Jaeger /jaeger/api/services,
// /api/traceseal/logs). Data is put into the page with textContent only, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
const STATUS = ['unset', 'ok', 'error'];

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function getJson(url) {
  const r = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch { /* not JSON */ }
  if (!r.ok) {
    const msg = body && (body.error || (body.errors && body.errors[0] && body.errors[0].msg)) || r.statusText;
    const err = new Error(msg); err.status = r.status; throw err;
  }
  return body;
}

function fmtDuration(ns) {
  if (ns < 1e3) return ns.toFixed(0) + 'ns';
  if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 1 : 0) + 'µs';
  if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + 'ms';
  return (ns / 1e9).toFixed(2) + 's';
}

function fmtTime(nanoString) {
  const ms = Number(BigInt(nanoString) / 1000000n);
  const d = new Date(ms);
  return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
}

function anyValue(v) {
  if (!v) return '';
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return String(v.intValue);
  if ('doubleValue' in v) return String(v.doubleValue);
  if ('boolValue' in v) return String(v.boolValue);
  if ('bytesValue' in v) return v.bytesValue;
  if ('arrayValue' in v) return '[' + (v.arrayValue.values || []).map(anyValue).join(', ') + ']';
  if ('kvlistValue' in v) return '{' + (v.kvlistValue.values || []).map((kv) => kv.key + ': ' + anyValue(kv.value)).join(', ') + '}';
  return '';
}

function attr(attrs, key) {
  const kv = (attrs || []).find((a) => a.key === key);
  return kv ? anyValue(kv.value) : '';
}

// ---- routing --------------------------------------------------------------------------------------------------
function show(page) {
  for (const p of ['search', 'trace', 'logs']) $(p + '-page').hidden = p !== page;
  for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', a.dataset.nav === page);
}

function route() {
  const path = location.pathname;
  const m = path.match(/^\/trace\/([0-9a-fA-F]{1,32})$/);
  if (m) { show('trace'); loadTrace(m[1].toLowerCase()); return; }
  if (path === '/logs') { show('logs'); initLogs(); return; }
  show('search');
  initSearch();
}

function go(url) { history.pushState(null, '', url); route(); }

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="/"]');
  if (a && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.button === 0) { e.preventDefault(); go(a.getAttribute('href')); }
});
window.addEventListener('popstate', route);

$('trace-id-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const id = $('trace-id-input').value.trim().toLowerCase();
  if (/^[0-9a-f]{1,32}$/.test(id)) go('/trace/' + id.padStart(32, '0'));
  else $('trace-id-input').setCustomValidity('32 hex digits'), $('trace-id-input').reportValidity();
});
$('trace-id-input').addEventListener('input', () => $('trace-id-input').setCustomValidity(''));

// ---- services ---------------------------------------------------------------------------------------------------
let servicesLoaded = null;
function loadServices() {
  if (!servicesLoaded) {
    servicesLoaded = getJson('/jaeger/api/services').then((r) => {
      for (const sel of [$('f-service'), $('l-service')]) {
        for (const s of r.data || []) sel.append(el('option', { value: s, text: s }));
      }
    }).catch(() => {});
  }
  return servicesLoaded;
}

async function loadOperations(service) {
  const list = $('operations');
  list.textContent = '';
  if (!service) return;
  try {
    const r = await getJson('/jaeger/api/services/' + encodeURIComponent(service) + '/operations');
    for (const op of r.data || []) list.append(el('option', { value: op }));
  } catch { /* the picker is a convenience */ }
}

// ---- search -----------------------------------------------------------------------------------------------------
let searchReady = false;
async function initSearch() {
  const p = new URLSearchParams(location.search);
  await loadServices();
  if (!searchReady) {
    searchReady = true;
    $('search-form').addEventListener('submit', (e) => { e.preventDefault(); go('/search?' + formParams().toString()); });
    $('f-service').addEventListener('change', () => loadOperations($('f-service').value));
  }
  $('f-service').value = p.get('service') || '';
  if (p.get('service') && $('f-service').value !== p.get('service')) {
    $('f-service').append(el('option', { value: p.get('service'), text: p.get('service') }));
    $('f-service').value = p.get('service');
  }
  $('f-operation').value = p.get('operation') || '';
  $('f-tags').value = tagsText(p.get('tags'));
  $('f-lookback').value = p.get('lookback') || '1h';
  $('f-min').value = p.get('minDuration') || '';
  $('f-max').value = p.get('maxDuration') || '';
  $('f-errors').checked = p.get('errors') === 'true';
  $('f-limit').value = p.get('limit') || '20';
  loadOperations($('f-service').value);
  runSearch();
}

// Jaeger UI spells tags as a JSON object; the form as key=value lines. Both are accepted in the URL.
function tagsText(tags) {
  if (!tags) return '';
  try { const o = JSON.parse(tags); if (o && typeof o === 'object') return Object.entries(o).map(([k, v]) => k + '=' + v).join('\n'); } catch { /* key=value lines */ }
  return tags;
}

function formParams() {
  const p = new URLSearchParams();
  const add = (k, v) => { if (v) p.set(k, v); };
  add('service', $('f-service').value);
  add('operation', $('f-operation').value.trim());
  add('tags', $('f-tags').value.trim());
  add('lookback', $('f-lookback').value);
  add('minDuration', $('f-min').value.trim());
  add('maxDuration', $('f-max').value.trim());
  if ($('f-errors').checked) p.set('errors', 'true');
  add('limit', $('f-limit').value);
  return p;
}

function quote(s) { return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"'; }

const LOOKBACK = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400, '168h': 604800 };

function traceQl() {
  const c = [];
  if ($('f-service').value) c.push('resource.service.name = ' + quote($('f-service').value));
  if ($('f-operation').value.trim()) c.push('name = ' + quote($('f-operation').value.trim()));
  for (const line of $('f-tags').value.split('\n')) {
    const t = line.trim(); if (!t) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error('attribute "' + t + '" is not key=value');
    c.push('.' + t.slice(0, eq).trim() + ' = ' + quote(t.slice(eq + 1).trim()));
  }
  if ($('f-errors').checked) c.push('status = error');
  if ($('f-min').value.trim()) c.push('duration >= ' + $('f-min').value.trim());
  if ($('f-max').value.trim()) c.push('duration <= ' + $('f-max').value.trim());
  return '{ ' + c.join(' && ') + ' }';
}

async function runSearch() {
  const status = $('search-status');
  const table = $('results');
  const body = table.tBodies[0];
  status.className = 'status';
  let q;
  try { q = traceQl(); } catch (e) { status.textContent = e.message; status.className = 'status err'; return; }
  const p = new URLSearchParams({ q, limit: $('f-limit').value || '20' });
  const lb = LOOKBACK[$('f-lookback').value];
  if (lb) { const now = Math.floor(Date.now() / 1000); p.set('start', String(now - lb)); p.set('end', String(now + 60)); }
  status.textContent = 'Searching…';
  try {
    const r = await getJson('/api/search?' + p.toString());
    body.textContent = '';
    for (const t of r.traces || []) {
      let spans = 0, errors = 0;
      for (const s of Object.values(t.serviceStats || {})) { spans += s.spanCount || 0; errors += s.errorCount || 0; }
      const row = el('tr', { 'data-trace-id': t.traceID, onclick: () => go('/trace/' + t.traceID) },
        el('td', { class: 'mono', text: fmtTime(t.startTimeUnixNano) }),
        el('td', {}, el('a', { href: '/trace/' + t.traceID, text: t.rootTraceName || '(no name)' })),
        el('td', { text: t.rootServiceName }),
        el('td', { text: fmtDuration((t.durationMs || 0) * 1e6) }),
        el('td', {}, el('span', { class: 'badge', text: String(spans) })),
        el('td', {}, el('span', { class: errors ? 'badge err' : 'badge', text: String(errors) })));
      body.append(row);
    }
    table.hidden = (r.traces || []).length === 0;
    status.textContent = (r.traces || []).length === 0 ? 'No traces matched.' : (r.traces.length + ' trace(s)');
  } catch (e) {
    status.textContent = 'Search failed: ' + e.message; status.className = 'status err'; table.hidden = true;
  }
}

// ---- trace view -------------------------------------------------------------------------------------------------
async function loadTrace(id) {
  $('trace-title').textContent = 'Trace ' + id;
  $('trace-meta').textContent = '';
  $('trace-status').textContent = 'Loading…';
  $('trace-status').className = 'status';
  $('wf-rows').textContent = '';
  $('wf-axis').textContent = '';
  $('details').hidden = true;
  $('trace-page').querySelector('.trace-body').classList.remove('with-details');
  let r;
  try { r = await getJson('/api/v2/traces/' + id); } catch (e) {
    $('trace-status').textContent = e.status === 404 ? 'Trace not found.' : 'Failed: ' + e.message;
    $('trace-status').className = 'status err';
    return;
  }
  $('trace-status').textContent = '';
  renderTrace(id, r.trace || {});
}

function flatten(trace) {
  const spans = [];
  for (const rs of trace.resourceSpans || []) {
    const service = attr(rs.resource && rs.resource.attributes, 'service.name');
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) spans.push({ s, rs, ss, service, start: BigInt(s.startTimeUnixNano || '0'), end: BigInt(s.endTimeUnixNano || s.startTimeUnixNano || '0') });
    }
  }
  return spans;
}

function renderTrace(id, trace) {
  const spans = flatten(trace);
  if (spans.length === 0) { $('trace-status').textContent = 'Trace not found.'; return; }
  const ids = new Set(spans.map((x) => x.s.spanId));
  const children = new Map();
  for (const x of spans) {
    const parent = x.s.parentSpanId && ids.has(x.s.parentSpanId) ? x.s.parentSpanId : '';
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(x);
  }
  for (const list of children.values()) list.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const t0 = spans.reduce((m, x) => (x.start < m ? x.start : m), spans[0].start);
  const t1 = spans.reduce((m, x) => (x.end > m ? x.end : m), spans[0].end);
  const total = Number(t1 - t0) || 1;
  const errors = spans.filter((x) => x.s.status && x.s.status.code === 2).length;
  const root = (children.get('') || [])[0];
  $('trace-title').textContent = (root ? root.service + ': ' + root.s.name : 'Trace') + '';
  $('trace-meta').textContent = 'Trace ' + id + ' · ' + fmtTime(t0.toString()) + ' · ' + fmtDuration(total) + ' · ' + spans.length + ' spans · ' + errors + ' error(s)';

  const axis = $('wf-axis');
  for (let i = 0; i <= 4; i++) {
    const tick = el('div', { class: 'wf-tick', text: fmtDuration(total * i / 4) });
    tick.style.left = (i * 25) + '%';
    axis.append(tick);
  }

  const rows = $('wf-rows');
  const collapsed = new Set();
  const draw = () => {
    rows.textContent = '';
    const visit = (parentId, depth, seen) => {
      for (const x of children.get(parentId) || []) {
        if (seen.has(x.s.spanId)) continue;
        seen.add(x.s.spanId);
        const isError = x.s.status && x.s.status.code === 2;
        const kids = children.get(x.s.spanId) || [];
        const toggle = el('span', { class: 'wf-toggle', text: kids.length ? (collapsed.has(x.s.spanId) ? '▸' : '▾') : '' });
        if (kids.length) {
          toggle.addEventListener('click', (e) => {
            e.stopPropagation();
            if (collapsed.has(x.s.spanId)) collapsed.delete(x.s.spanId); else collapsed.add(x.s.spanId);
            draw();
          });
        }
        const label = el('div', { class: 'wf-label' }, toggle,
          isError ? el('span', { class: 'wf-err', title: 'error', text: '!' }) : null,
          el('span', { class: 'wf-service', text: x.service }),
          el('span', { class: 'wf-name', text: x.s.name }));
        label.style.paddingLeft = (8 + depth * 16) + 'px';
        const left = Number(x.start - t0) / total * 100;
        const width = Math.max(Number(x.end - x.start) / total * 100, 0.2);
        const bar = el('div', { class: 'wf-bar' });
        bar.style.left = left + '%'; bar.style.width = width + '%';
        const dur = el('div', { class: 'wf-dur', text: fmtDuration(Number(x.end - x.start)) });
        if (left + width > 80) dur.style.right = (100 - left + 1) + '%'; else dur.style.left = (left + width + 1) + '%';
        const row = el('div', { class: 'wf-row' + (isError ? ' error' : ''), 'data-span-id': x.s.spanId, onclick: () => select(x, row) }, label, el('div', { class: 'wf-track' }, bar, dur));
        rows.append(row);
        if (!collapsed.has(x.s.spanId)) visit(x.s.spanId, depth + 1, seen);
      }
    };
    visit('', 0, new Set());
  };
  const select = (x, row) => {
    for (const r of rows.querySelectorAll('.wf-row.selected')) r.classList.remove('selected');
    row.classList.add('selected');
    showDetails(x, t0);
  };
  draw();
}

function kvTable(attrs) {
  const t = el('table');
  for (const kv of attrs || []) t.append(el('tr', {}, el('td', { class: 'k', text: kv.key }), el('td', { class: 'v', text: anyValue(kv.value) })));
  if (!attrs || attrs.length === 0) t.append(el('tr', {}, el('td', { class: 'k', text: '(none)' })));
  return t;
}

function showDetails(x, t0) {
  const s = x.s;
  const d = $('details');
  d.textContent = '';
  d.hidden = false;
  $('trace-page').querySelector('.trace-body').classList.add('with-details');
  const code = (s.status && s.status.code) || 0;
  d.append(el('h2', { text: s.name }));
  const facts = el('table');
  const fact = (k, v, cls) => facts.append(el('tr', {}, el('td', { class: 'k', text: k }), el('td', { class: cls || 'v', text: v })));
  fact('Service', x.service);
  fact('Kind', KINDS[s.kind || 0] || String(s.kind));
  fact('Status', STATUS[code] + (s.status && s.status.message ? ': ' + s.status.message : ''), code === 2 ? 'err' : 'v');
  fact('Start', fmtTime(s.startTimeUnixNano) + ' (+' + fmtDuration(Number(x.start - t0)) + ')');
  fact('Duration', fmtDuration(Number(x.end - x.start)));
  fact('Span ID', s.spanId);
  fact('Parent ID', s.parentSpanId || '(root)');
  if (x.ss.scope && x.ss.scope.name) fact('Scope', x.ss.scope.name + (x.ss.scope.version ? ' ' + x.ss.scope.version : ''));
  d.append(facts);
  d.append(el('h3', { text: 'Attributes' }), kvTable(s.attributes));
  d.append(el('h3', { text: 'Resource' }), kvTable(x.rs.resource && x.rs.resource.attributes));
  d.append(el('h3', { text: 'Events (' + (s.events || []).length + ')' }));
  for (const e of s.events || []) {
    const off = e.timeUnixNano ? ' (+' + fmtDuration(Number(BigInt(e.timeUnixNano) - t0)) + ')' : '';
    d.append(el('div', { class: 'event' }, el('strong', { text: e.name + off }), kvTable(e.attributes)));
  }
  d.append(el('h3', { text: 'Links (' + (s.links || []).length + ')' }));
  for (const l of s.links || []) {
    d.append(el('div', { class: 'event' }, el('a', { href: '/trace/' + l.traceId, text: l.traceId + ' / ' + l.spanId }), kvTable(l.attributes)));
  }
}

// ---- logs -------------------------------------------------------------------------------------------------------
let logsReady = false;
async function initLogs() {
  await loadServices();
  const p = new URLSearchParams(location.search);
  if (!logsReady) {
    logsReady = true;
    $('logs-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      if ($('l-q').value.trim()) q.set('q', $('l-q').value.trim());
      if ($('l-service').value) q.set('service', $('l-service').value);
      if ($('l-severity').value !== '0') q.set('minSeverity', $('l-severity').value);
      go('/logs?' + q.toString());
    });
  }
  $('l-q').value = p.get('q') || '';
  $('l-service').value = p.get('service') || '';
  $('l-severity').value = p.get('minSeverity') || '0';
  const status = $('logs-status');
  const table = $('logs');
  const body = table.tBodies[0];
  status.textContent = 'Searching…';
  status.className = 'status';
  try {
    const api = new URLSearchParams(p);
    api.set('limit', '200');
    const r = await getJson('/api/traceseal/logs?' + api.toString());
    body.textContent = '';
    for (const l of r.logs || []) {
      const sev = l.severityText || (l.severityNumber ? 'SEV' + l.severityNumber : '');
      body.append(el('tr', {},
        el('td', { class: 'mono', text: l.time }),
        el('td', { class: l.severityNumber >= 17 ? 'sev-error' : l.severityNumber >= 13 ? 'sev-warn' : '', text: sev }),
        el('td', { text: l.service }),
        el('td', { class: 'body', text: l.body + (Object.keys(l.attributes).length ? '  ' + Object.entries(l.attributes).map(([k, v]) => k + '=' + v).join(' ') : '') }),
        el('td', {}, l.traceId ? el('a', { class: 'mono', href: '/trace/' + l.traceId, text: l.traceId.slice(0, 8) + '…' }) : null)));
    }
    table.hidden = (r.logs || []).length === 0;
    status.textContent = (r.logs || []).length === 0 ? 'No logs matched.' : r.logs.length + ' log record(s)' + (r.overLimit ? ', ' + r.overLimit + ' more not shown' : '');
  } catch (e) {
    status.textContent = 'Failed: ' + e.message; status.className = 'status err'; table.hidden = true;
  }
}

route();
