// console.js: the facilitators' console (full view, cookie-authenticated).
// One section per task: the meeting's details, members (CSV import, add,
// edit), the check-in desk, bilans, profiles, groups, the agenda and timers,
// the plenary decisions with the merge and the consensus check, the report
// and the purge. Forms are built once; the lists beside them are regions
// refreshed on every change (see render.js).
import { t, initLang, onLang, lang } from './i18n.js';
import { h, fill, $, region, api, announce, countdown, uuid } from './render.js';
import { Sync } from './sync.js';
import * as M from './model.js';

const path = location.pathname.split('/').filter(Boolean);
const meetingId = path[0] === 'console' ? path[1] : '';
const SECTIONS = ['meeting', 'members', 'checkin', 'bilans', 'profiles', 'groups', 'steps', 'plenary', 'report'];

initLang($('#lang'));
const sync = new Sync({ meetingId, as: 'facilitator', scope: 'console', lang: lang() });
const store = sync.store;
let regions = [];
let current = SECTIONS.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'meeting';

// afterAck holds what to say once an op is acked, by op id.
const afterAck = new Map();

sync.on('status', showSync)
  .on('update', render)
  .on('ack', (id) => { const fn = afterAck.get(id); if (fn) { afterAck.delete(id); fn(); } })
  .on('refused', (f) => { afterAck.delete(f.id); announce(f.message || f.code, 'error'); })
  .on('fatal', () => fill($('#main'), h('p', { class: 'card error', text: t('console.noAccess') })));

onLang(() => { sync.setLang(lang()); build(); render(); showSync(sync.status); });
window.addEventListener('hashchange', () => {
  const s = location.hash.slice(1);
  if (SECTIONS.includes(s)) { current = s; showSection(); }
});


function showSync(status) {
  const el = $('#sync');
  el.dataset.state = status;
  el.textContent = status === 'saved' ? `✓ ${t('sync.saved')}` : status === 'sending' ? `↻ ${t('sync.sending')}`
    : status === 'unavailable' ? `⏸ ${t('sync.unavailable')}` : `✕ ${t('sync.offline')}`;
}

function send(op, payload) {
  return sync.send(op, payload);
}

// build makes the navigation and every section's skeleton.
function build() {
  regions = [];
  fill($('#nav'), SECTIONS.map((s) => h('a', { href: `#${s}`, id: `nav-${s}`, text: t(`console.nav.${s}`) })));
  fill($('#main'),
    section('meeting', buildMeeting()),
    section('members', buildMembers()),
    section('checkin', buildCheckin()),
    section('bilans', buildBilans()),
    section('profiles', buildProfiles()),
    section('groups', buildGroups()),
    section('steps', buildSteps()),
    section('plenary', buildPlenary()),
    section('report', buildReport()));
  showSection();
}

function section(name, ...children) {
  return h('section', { id: `sec-${name}`, 'aria-labelledby': `h-${name}` }, h('h2', { id: `h-${name}`, text: t(`console.nav.${name}`) }), ...children);
}

function showSection() {
  for (const s of SECTIONS) {
    $(`#sec-${s}`).hidden = s !== current;
    $(`#nav-${s}`).setAttribute('aria-current', String(s === current));
  }
}

function live(draw, tag = 'div', attrs = null) {
  const el = h(tag, attrs);
  regions.push({ r: region(el, { diff: true }), draw });
  return el;
}

function render() {
  if (!store.get('meeting', '')) return;
  const info = store.meeting.info || {};
  $('#title').textContent = `${info.title || t('console.title')} · ${t(`step.${store.meeting.step || 'before'}`)}`;
  const present = M.members(store).filter((m) => m.present).length;
  $('#present').textContent = t('console.presentCount', { n: present });
  for (const { r, draw } of regions) r.update(draw);
}

// field is a labelled input.
function field(id, labelKey, attrs = {}) {
  const input = h(attrs.tag || 'input', { id, ...attrs, tag: undefined });
  return [h('label', { for: id, text: t(labelKey) }), input];
}

// keepForm fills a form's fields from values unless the user has edited it
// since (data-dirty), so a change from elsewhere never erases their typing.
function keepForm(form, values) {
  if (form.dataset.dirty) return;
  for (const [k, v] of Object.entries(values)) {
    const el = form.elements.namedItem(k);
    if (el && document.activeElement !== el) el.value = v || '';
  }
}

function dirtyTracking(form) {
  form.addEventListener('input', () => { form.dataset.dirty = '1'; });
  return form;
}

// --- Meeting details ---
function buildMeeting() {
  const infoForm = dirtyTracking(h('form', {
    class: 'card stack', id: 'info-form',
    on: {
      submit: (e) => {
        e.preventDefault();
        const f = e.target;
        const info = { ...(store.meeting.info || {}) };
        for (const k of ['title', 'department', 'date', 'startTime', 'place', 'videoUrl']) info[k] = f.elements.namedItem(k).value.trim();
        send('meeting.update', { info });
        delete f.dataset.dirty;
      },
    },
  },
  field('i-title', 'info.title', { name: 'title', maxLength: 200 }),
  field('i-department', 'info.department', { name: 'department', maxLength: 100 }),
  field('i-date', 'info.date', { name: 'date', type: 'date' }),
  field('i-start', 'info.startTime', { name: 'startTime', type: 'time' }),
  field('i-place', 'info.place', { name: 'place', maxLength: 200 }),
  field('i-video', 'info.videoUrl', { name: 'videoUrl', type: 'url', placeholder: 'https://' }),
  h('button', { type: 'submit', text: t('common.save') })));

  const facForm = dirtyTracking(h('form', {
    class: 'card stack', id: 'fac-form',
    on: {
      submit: (e) => {
        e.preventDefault();
        const f = e.target;
        send('facilitators.set', { names: [f.elements.namedItem('fac1').value.trim(), f.elements.namedItem('fac2').value.trim()].filter(Boolean) });
        delete f.dataset.dirty;
      },
    },
  }, h('h3', { text: t('info.facilitators') }),
  field('f-1', 'info.facilitator1', { name: 'fac1', maxLength: 100 }),
  field('f-2', 'info.facilitator2', { name: 'fac2', maxLength: 100 }),
  h('button', { type: 'submit', text: t('common.save') })));

  return h('div', { class: 'cols' },
    h('div', null, infoForm, live(() => keepForm(infoForm, store.meeting.info || {}), 'span'),
      live((el) => fill(el, M.dateOutsideWindow(store) ? h('p', { class: 'warn', role: 'status', text: `⚠ ${t('info.windowWarning')}` }) : null))),
    h('div', null, facForm, live(() => {
      const names = store.meeting.facilitators || [];
      keepForm(facForm, { fac1: names[0], fac2: names[1] });
    }, 'span'),
    live((el) => {
      const m = store.meeting;
      fill(el, h('div', { class: 'card stack' },
        h('label', { class: 'check' }, h('input', {
          type: 'checkbox', id: 'parity', checked: !!m.parity,
          on: { change: (e) => send('parity.set', { confirmed: e.target.checked }) },
        }), h('span', { text: t('info.parity') })),
        m.parity ? h('p', { class: 'ok', text: `✓ ${t('info.parityDone')}` }) : h('p', { class: 'warn', text: `⚠ ${t('info.parityMissing')}` }),
        h('label', { for: 'rapporteur', text: t('info.rapporteur') }),
        h('select', {
          id: 'rapporteur', dataset: { instant: '1' },
          on: { change: (e) => send('rapporteur.set', { memberId: e.target.value }) },
        }, h('option', { value: '', text: t('info.noRapporteur') }),
        M.members(store).map((mb) => h('option', { value: mb.id, selected: mb.id === m.rapporteur, text: M.memberLabel(store, mb.id) })))));
    }),
    live((el) => {
      const m = store.meeting;
      const joinUrl = m.joinCode ? `${location.origin}/join/${m.joinCode}` : '';
      fill(el, h('dl', { class: 'card links' },
        h('dt', { text: t('index.joinCode') }), h('dd', { class: 'code', id: 'console-code', text: m.joinCode || '' }),
        h('dt', { text: t('index.joinLink') }), h('dd', null, joinUrl ? h('a', { href: joinUrl, text: joinUrl }) : ''),
        h('dt', { text: t('index.screenLink') }), h('dd', { class: 'muted', text: t('console.screenLinkHint') })));
    }),
    buildScreenLink()));
}

// screenUrl is the projector link made from this page: the server keeps only
// its hash, so it is shown here until the page is left.
let screenUrl = '';

// buildScreenLink lets a facilitator replace a projector link that leaked:
// the screen open with the old one is disconnected and the new one is shown
// (and copied when the browser allows it).
function buildScreenLink() {
  const out = h('div', { id: 'screen-link-out', class: 'stack' });
  const copyLink = () => navigator.clipboard.writeText(screenUrl)
    .then(() => announce(t('common.copied')), () => announce(t('common.copyFailed'), 'error'));
  const show = () => fill(out, screenUrl ? [
    h('p', { class: 'ok', text: `✓ ${t('console.newScreenLinkDone')}` }),
    h('p', { class: 'url' }, h('a', { href: screenUrl, id: 'screen-link-new', target: '_blank', rel: 'noopener', text: screenUrl })),
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary small', id: 'screen-link-copy', text: t('console.copyLink'), on: { click: copyLink } }))] : null);
  const btn = h('button', {
    type: 'button', class: 'secondary', id: 'screen-link-btn', text: t('console.newScreenLink'),
    on: {
      click: async () => {
        if (!confirm(t('console.newScreenLinkConfirm'))) return;
        btn.disabled = true;
        try {
          const res = await api('POST', `/api/meetings/${encodeURIComponent(meetingId)}/screen-link`);
          screenUrl = res.screenUrl;
          show();
          try {
            await navigator.clipboard.writeText(screenUrl);
            announce(t('console.newScreenLinkCopied'));
          } catch {
            announce(t('console.newScreenLinkDone'));
          }
        } catch (err) {
          announce(err.message, 'error');
        } finally {
          btn.disabled = false;
          btn.focus();
        }
      },
    },
  });
  show();
  return h('div', { class: 'card stack', id: 'screen-card' }, h('h3', { text: t('console.screenTitle') }),
    h('p', { class: 'muted', text: t('console.newScreenLinkHint') }), btn, out);
}

// --- Members: import, add, edit ---
function buildMembers() {
  const csv = h('textarea', { id: 'csv', rows: 6, placeholder: 'nom;groupe d\'action;certification;email;telephone' });
  const file = h('input', {
    type: 'file', id: 'csv-file', accept: '.csv,text/csv,text/plain',
    on: { change: async (e) => { const f = e.target.files[0]; if (f) csv.value = await f.text(); } },
  });
  const preview = h('div', { id: 'import-preview', 'aria-live': 'polite' });
  const applyBtn = h('button', { type: 'button', id: 'import-apply', hidden: true, text: t('members.importApply') });
  const doImport = async (dry) => {
    const text = csv.value;
    if (!text.trim()) return;
    try {
      const res = await api('POST', `/api/meetings/${encodeURIComponent(meetingId)}/members/import${dry ? '?dryRun=1' : ''}`, text,
        { 'Content-Type': 'text/csv; charset=utf-8' });
      showPreview(preview, res, dry);
      applyBtn.hidden = !dry || (res.errors && res.errors.length > 0);
      if (!dry) { announce(t('members.imported', { n: count(res.members) })); csv.value = ''; }
    } catch (err) {
      if (err.data && err.data.errors) showPreview(preview, err.data, dry);
      else fill(preview, h('p', { class: 'error', text: err.message }));
      applyBtn.hidden = true;
    }
  };
  applyBtn.addEventListener('click', () => doImport(false));

  const gaSelect = () => h('select', { name: 'actionGroupId', id: 'm-ga' }, h('option', { value: '', text: t('members.noGA') }),
    store.all('actionGroup').sort(M.byName).map((g) => h('option', { value: g.id, text: g.name })));
  const addForm = h('form', {
    class: 'card stack', id: 'member-add',
    on: {
      submit: (e) => {
        e.preventDefault();
        const f = e.target;
        const name = f.elements.namedItem('name').value.trim();
        if (!name) return;
        send('member.add', {
          member: {
            id: uuid(), name, actionGroupId: f.elements.namedItem('actionGroupId').value,
            email: f.elements.namedItem('email').value.trim(), phone: f.elements.namedItem('phone').value.trim(),
          },
        });
        f.reset();
      },
    },
  }, h('h3', { text: t('members.add') }),
  field('m-name', 'members.name', { name: 'name', maxLength: 100, required: true }),
  h('label', { for: 'm-ga', text: t('members.actionGroup') }), keyed(() => JSON.stringify(store.all('actionGroup').map((g) => [g.id, g.name])), (el) => fill(el, gaSelect())),
  field('m-email', 'members.email', { name: 'email', type: 'email', maxLength: 200 }),
  field('m-phone', 'members.phone', { name: 'phone', type: 'tel', maxLength: 40 }),
  h('button', { type: 'submit', text: t('group.add') }));

  const gaForm = h('form', {
    class: 'card stack', id: 'ga-add',
    on: {
      submit: (e) => {
        e.preventDefault();
        const f = e.target;
        const name = f.elements.namedItem('gaName').value.trim();
        if (!name) return;
        send('actiongroup.upsert', { actionGroup: { id: uuid(), name, certifiedOn: f.elements.namedItem('certifiedOn').value } });
        f.reset();
      },
    },
  }, h('h3', { text: t('members.addGA') }),
  field('ga-name', 'members.gaName', { name: 'gaName', maxLength: 100, required: true }),
  field('ga-cert', 'members.certifiedOn', { name: 'certifiedOn', type: 'date' }),
  h('button', { type: 'submit', text: t('group.add') }));

  return [
    h('div', { class: 'card stack' }, h('h3', { text: t('members.import') }),
      h('p', { class: 'muted', text: t('members.importHint') }),
      h('label', { for: 'csv-file', text: t('members.csvFile') }), file,
      h('label', { for: 'csv', text: t('members.csvText') }), csv,
      h('div', { class: 'row' }, h('button', { type: 'button', id: 'import-preview-btn', class: 'secondary', text: t('members.preview'), on: { click: () => doImport(true) } }), applyBtn),
      preview),
    h('div', { class: 'cols' }, addForm, gaForm),
    live(drawMembersTable),
  ];
}

function count(v) {
  return Array.isArray(v) ? v.length : (typeof v === 'number' ? v : 0);
}

function showPreview(el, res, dry) {
  const members = Array.isArray(res.members) ? res.members : [];
  const errors = res.errors || [];
  fill(el,
    h('p', { class: errors.length ? 'error' : 'ok', text: t(dry ? 'members.previewSummary' : 'members.importSummary', { ga: count(res.actionGroups), m: count(res.members), e: errors.length }) }),
    errors.length ? h('ul', { id: 'import-errors' }, errors.map((er) => h('li', { class: 'error', text: `${t('members.line')} ${er.line} : ${er.message}` }))) : null,
    members.length ? h('table', null, h('thead', null, h('tr', null, ['members.name', 'members.actionGroup', 'members.email', 'members.phone'].map((k) => h('th', { text: t(k) })))),
      h('tbody', null, members.slice(0, 100).map((m) => h('tr', null,
        h('td', { text: m.name }), h('td', { text: m.actionGroup || M.actionGroupName(store, m.actionGroupId) || m.actionGroupId || '' }),
        h('td', { text: m.email || '' }), h('td', { text: m.phone || '' }))))) : null);
}

let editing = '';
function drawMembersTable(el) {
  const ms = M.members(store);
  fill(el, h('h3', { text: t('members.list', { n: ms.length }) }), h('table', { id: 'members-table' },
    h('thead', null, h('tr', null, ['members.name', 'members.actionGroup', 'members.email', 'members.phone', 'members.status', ''].map((k) => h('th', { text: k ? t(k) : '' })))),
    h('tbody', null, ms.map((m) => (m.id === editing ? editRow(m) : h('tr', null,
      h('td', { text: m.name }), h('td', { text: M.actionGroupName(store, m.actionGroupId) }),
      h('td', { text: m.email || '' }), h('td', { text: m.phone || '' }),
      h('td', { text: m.present ? t('checkin.present') : '' }),
      h('td', null, h('button', { type: 'button', class: 'secondary small', text: t('group.edit'), 'aria-label': `${t('group.edit')} : ${m.name}`, on: { click: () => { editing = m.id; render(); } } }))))))));
}

function editRow(m) {
  const name = h('input', { value: m.name, 'aria-label': t('members.name') });
  const ga = h('select', { 'aria-label': t('members.actionGroup') }, h('option', { value: '', text: t('members.noGA') }),
    store.all('actionGroup').sort(M.byName).map((g) => h('option', { value: g.id, selected: g.id === m.actionGroupId, text: g.name })));
  const email = h('input', { value: m.email || '', type: 'email', 'aria-label': t('members.email') });
  const phone = h('input', { value: m.phone || '', type: 'tel', 'aria-label': t('members.phone') });
  return h('tr', null, h('td', null, name), h('td', null, ga), h('td', null, email), h('td', null, phone), h('td'),
    h('td', null, h('button', {
      type: 'button', class: 'small', text: t('common.save'),
      on: {
        click: () => {
          send('member.update', { member: { id: m.id, name: name.value.trim(), actionGroupId: ga.value, email: email.value.trim(), phone: phone.value.trim() } });
          editing = '';
          render();
        },
      },
    }), h('button', { type: 'button', class: 'secondary small', text: t('common.cancel'), on: { click: () => { editing = ''; render(); } } })));
}

// --- Check-in desk ---
function buildCheckin() {
  const q = h('input', { id: 'checkin-q', type: 'search', autocomplete: 'off' });
  const list = live(drawCheckin);
  q.addEventListener('input', () => drawCheckin(list));
  return [
    live((el) => fill(el, h('p', { class: 'card' }, h('strong', { class: 'code', text: String(M.members(store).filter((m) => m.present).length) }), ' ', t('checkin.presentNow'),
      ' · ', h('a', { href: `/api/meetings/${encodeURIComponent(meetingId)}/attendance`, target: '_blank', rel: 'noopener', text: t('checkin.sheet') })))),
    h('label', { for: 'checkin-q', text: t('checkin.search') }), q, list];
}

function fold(s) {
  return (s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

function timeOf(v) {
  return v ? new Date(v).toLocaleTimeString(lang(), { hour: '2-digit', minute: '2-digit' }) : '';
}

function drawCheckin(el) {
  const q = fold(($('#checkin-q') || {}).value);
  const ms = M.members(store).filter((m) => !q || fold(m.name).includes(q) || fold(M.actionGroupName(store, m.actionGroupId)).includes(q));
  fill(el, h('ul', { class: 'list' }, ms.slice(0, 200).map((m) => {
    const last = (m.attendance || [])[m.attendance ? m.attendance.length - 1 : 0];
    const status = m.present ? `${t('checkin.present')}${last ? ` ${t('checkin.since')} ${timeOf(last.in)}` : ''}${m.remote ? ` (${t('checkin.remote')})` : ''}`
      : last && last.out ? `${t('checkin.left')} ${timeOf(last.out)}` : t('checkin.absent');
    // A member who joined may have a phone that opens the meeting, even
    // after leaving: it can be signed out too.
    const signOutButton = m.present || (last && last.out) ? h('button', {
      type: 'button', class: 'secondary small sign-out', dataset: { member: m.id }, text: t('checkin.signOut'),
      'aria-label': `${t('checkin.signOut')} : ${m.name}`, on: { click: () => signOut(m) },
    }) : null;
    return h('li', null, h('span', { class: 'grow' }, h('strong', { text: m.name }), ` · ${M.actionGroupName(store, m.actionGroupId)} — `, h('span', { class: m.present ? 'ok' : 'muted', text: status })),
      m.present ? [h('button', { type: 'button', class: 'secondary small', text: t('checkin.out'), on: { click: () => send('member.checkout', { memberId: m.id }) } }),
        signOutButton]
        : [h('button', { type: 'button', class: 'small', text: t('checkin.in'), on: { click: () => send('member.checkin', { memberId: m.id, remote: false }) } }),
          h('button', { type: 'button', class: 'secondary small', text: t('checkin.inRemote'), on: { click: () => send('member.checkin', { memberId: m.id, remote: true }) } }),
          signOutButton]);
  })));
}

// signOut revokes every token of a member (a lost or lent phone), once
// confirmed. A member checked in stays so and can join again with the code.
function signOut(m) {
  if (!confirm(t(m.present ? 'checkin.signOutConfirm' : 'checkin.signOutConfirmLeft', { name: m.name }))) return;
  const id = send('token.revoke', { memberId: m.id });
  afterAck.set(id, () => announce(t('checkin.signedOut', { name: m.name })));
}

// --- Bilans (step II) ---
function buildBilans() {
  return keyed(() => JSON.stringify([M.binomes(store).map((b) => [b.key, store.get('bilan', b.key) || '']), lang()]), (el) => fill(el, M.binomes(store).map((b) => {
    const ta = h('textarea', { id: `bilan-${b.key}`, value: store.get('bilan', b.key) || '', maxLength: 4000 });
    return h('form', {
      class: 'card stack',
      on: { submit: (e) => { e.preventDefault(); send('bilan.set', { binome: b.key, text: ta.value.trim() }); } },
    }, h('label', { for: `bilan-${b.key}`, text: M.binomeTitle(b) }), ta, h('button', { type: 'submit', class: 'small', text: t('common.save') }));
  })));
}

// --- Profiles (step III) ---
let editingProfile = '';
function buildProfiles() {
  const form = h('form', { class: 'card stack', id: 'profile-form' });
  const drawForm = (el) => {
    const p = editingProfile ? store.get('profile', editingProfile) : null;
    const memberSel = h('select', { name: 'memberId', id: 'p-member', required: true, disabled: !!p },
      h('option', { value: '', text: t('profiles.pickMember') }),
      M.members(store).map((m) => h('option', { value: m.id, selected: p && p.memberId === m.id, text: M.memberLabel(store, m.id) })));
    fill(el, h('h3', { text: p ? t('profiles.edit') : t('profiles.add') }),
      h('label', { for: 'p-member', text: t('profiles.member') }), memberSel,
      h('fieldset', null, h('legend', { text: t('profiles.binomes') }), M.binomes(store).map((b) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'binome', value: b.key, checked: !!p && (p.binomes || []).includes(b.key) }), h('span', { text: M.binomeTitle(b) })))),
      ['skills', 'experience', 'availability', 'commitments'].map((k) => [h('label', { for: `p-${k}`, text: t(`profile.${k}`) }),
        h('textarea', { id: `p-${k}`, name: k, rows: 2, maxLength: 1000, value: p ? p[k] || '' : '' })]),
      h('div', { class: 'row' }, h('button', { type: 'submit', text: p ? t('common.save') : t('group.add') }),
        p ? h('button', { type: 'button', class: 'secondary', text: t('common.cancel'), on: { click: () => { editingProfile = ''; delete el.dataset.k; drawForm(el); } } }) : null));
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = form;
    const old = editingProfile ? store.get('profile', editingProfile) : null;
    const memberId = old ? old.memberId : f.elements.namedItem('memberId').value;
    const m = store.get('member', memberId);
    if (!m) return;
    const bs = [...f.querySelectorAll('input[name=binome]:checked')].map((i) => i.value);
    const profile = {
      id: old ? old.id : uuid(), memberId, binomes: bs, proposedBy: old ? old.proposedBy : (m.actionGroupId || ''),
      skills: f.elements.namedItem('skills').value.trim(), experience: f.elements.namedItem('experience').value.trim(),
      availability: f.elements.namedItem('availability').value.trim(), commitments: f.elements.namedItem('commitments').value.trim(),
    };
    send(old ? 'profile.update' : 'profile.add', { profile });
    editingProfile = '';
    delete form.dataset.k;
    drawForm(form);
  });
  const formRegion = region(form);
  regions.push({
    r: formRegion,
    draw: (el) => {
      const k = JSON.stringify([editingProfile, M.members(store).map((m) => [m.id, m.name, m.actionGroupId]), M.binomes(store).map((b) => b.key)]);
      if (el.dataset.k === k) return;
      el.dataset.k = k;
      drawForm(el);
    },
  });
  return h('div', { class: 'cols' }, form, live((el) => {
    const ps = store.all('profile').sort((a, b) => M.profileName(store, a.id).localeCompare(M.profileName(store, b.id), 'fr'));
    fill(el, h('h3', { text: t('profiles.list', { n: ps.length }) }), h('ul', { class: 'list', id: 'profiles-list' }, ps.map((p) => {
      const why = M.ineligibility(store, p.id);
      return h('li', null, h('span', { class: 'grow' },
        h('strong', { text: M.profileLabel(store, p.id) }), h('br'),
        h('span', { class: 'muted', text: (p.binomes || []).map((k) => M.binomeTitle(M.binomes(store).find((b) => b.key === k) || { key: k })).join(', ') }),
        why ? h('span', { class: 'warn', text: `⚠ ${t(`elig.${why}`)}` }) : null),
      h('button', { type: 'button', class: 'secondary small', text: t('group.edit'), on: { click: () => { editingProfile = p.id; delete form.dataset.k; drawForm(form); form.scrollIntoView(); } } }),
      h('button', { type: 'button', class: 'secondary small', text: t('group.remove'), on: { click: () => send('profile.remove', { profileId: p.id }) } }));
    })));
  }));
}

// --- Breakout groups ---
function buildGroups() {
  const addForm = h('form', {
    class: 'row card', id: 'group-add',
    on: {
      submit: (e) => {
        e.preventDefault();
        const f = e.target;
        const name = f.elements.namedItem('gname').value.trim();
        if (!name) return;
        send('group.add', { groupId: uuid(), name, remote: f.elements.namedItem('gremote').checked });
        f.reset();
      },
    },
  }, h('label', { for: 'g-name', class: 'sr-only', text: t('groups.name') }), h('div', { class: 'grow' }, h('input', { id: 'g-name', name: 'gname', placeholder: t('groups.name'), maxLength: 60 })),
  h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'gremote' }), h('span', { text: t('groups.remote') })),
  h('button', { type: 'submit', text: t('groups.add') }));
  return [
    h('div', { class: 'row' },
      h('button', { type: 'button', id: 'split', text: t('groups.split'), on: { click: () => send('groups.split', { replace: false }) } }),
      h('button', { type: 'button', class: 'secondary', text: t('groups.resplit'), on: { click: () => { if (confirm(t('groups.resplitConfirm'))) send('groups.split', { replace: true }); } } })),
    addForm,
    live(drawGroups),
  ];
}

function moveSelect(m, gs) {
  return h('select', {
    'aria-label': `${t('groups.move')} : ${m.name}`, class: 'move', dataset: { instant: '1' },
    on: { change: (e) => send('group.move', { memberId: m.id, groupId: e.target.value }) },
  }, h('option', { value: '', text: t('groups.none') }), gs.map((g) => h('option', { value: g.id, selected: g.id === m.groupId, text: g.name })));
}

function drawGroups(el) {
  const gs = M.groups(store);
  const ms = M.members(store);
  const cap = M.template(store).groupSizeMax || 10;
  const online = store.presence.groups || {};
  const loose = ms.filter((m) => m.present && !m.groupId);
  fill(el,
    loose.length ? h('div', { class: 'card' }, h('h3', { text: t('groups.unassigned', { n: loose.length }) }),
      h('ul', { class: 'list' }, loose.map((m) => h('li', null, h('span', { class: 'grow', text: M.memberLabel(store, m.id) + (m.remote ? ` (${t('checkin.remote')})` : '') }), moveSelect(m, gs))))) : null,
    h('div', { class: 'cols' }, gs.map((g) => {
      const inG = ms.filter((m) => m.groupId === g.id);
      return h('div', { class: 'card', dataset: { group: g.id } },
        h('h3', { text: `${g.name}${g.remote ? ` · ${t('groups.remote')}` : ''}` }),
        h('p', { class: inG.length > cap ? 'error' : 'muted', text: `${inG.length}/${cap} · ${t('groups.online', { n: (online[g.id] || []).length })}${g.submitted ? ` · ✓ ${t('group.submitted')}` : ''}` }),
        h('label', { for: `rap-${g.id}`, text: t('group.rapporteur') }),
        h('select', {
          id: `rap-${g.id}`, dataset: { instant: '1' },
          on: { change: (e) => send('group.rapporteur', { groupId: g.id, memberId: e.target.value }) },
        }, h('option', { value: '', text: t('group.noRapporteur') }), inG.map((m) => h('option', { value: m.id, selected: m.id === g.rapporteur, text: m.name }))),
        h('ul', { class: 'list' }, inG.map((m) => h('li', null, h('span', { class: 'grow', text: M.memberLabel(store, m.id) }), moveSelect(m, gs)))),
        inG.length === 0 ? h('button', { type: 'button', class: 'secondary small', text: t('groups.removeEmpty'), on: { click: () => send('group.remove', { groupId: g.id }) } }) : null,
        g.submitted ? h('button', { type: 'button', class: 'secondary small', text: t('group.reopen'), on: { click: () => send('group.submit', { groupId: g.id, submitted: false }) } }) : null);
    })));
}

// --- Agenda and timers ---
function buildSteps() {
  const minutes = h('input', { id: 'timer-min', type: 'number', min: 1, max: 240, value: '15', inputMode: 'numeric' });
  const endIn = () => new Date(store.now() + Math.max(1, Number(minutes.value) || 0) * 60000).toISOString();
  return [
    keyed(() => (store.meeting.step || 'before') + lang(), (el) => {
      const step = store.meeting.step || 'before';
      fill(el, h('div', { class: 'card' },
        h('p', null, t('console.currentStep'), ' : ', h('strong', { text: t(`step.${step}`) }), ' ', h('span', { class: 'timer', id: 'console-timer' })),
        h('div', { class: 'steps' }, M.STEPS.map((s) => h('button', {
          type: 'button', class: 'secondary', 'aria-pressed': String(s === step), dataset: { step: s },
          text: t(`step.${s}`), on: { click: () => send('step.set', { step: s }) },
        })))));
    }),
    h('div', { class: 'card row' }, h('label', { for: 'timer-min', text: t('console.timerMinutes') }), h('div', null, minutes),
      h('button', { type: 'button', text: t('console.timerStart'), on: { click: () => send('timer.set', { timerEnd: endIn() }) } }),
      h('button', { type: 'button', class: 'secondary', text: t('console.timerStop'), on: { click: () => send('timer.set', { timerEnd: null }) } })),
  ];
}

// --- Plenary: merge, consensus check, decisions ---
// Each binome's card has parts that redraw on every change (the merge, the
// live counts) and forms that redraw only when what they offer changed
// (keyed), so a facilitator's half-made choice is not reset by an incoming
// answer.
function buildPlenary() {
  return live((el) => {
    const bs = M.binomes(store);
    const key = bs.map((b) => b.key).join() + lang();
    if (el.dataset.k === key) return false;
    el.dataset.k = key;
    fill(el, h('div', { class: 'cols wide' }, bs.map((b) => h('div', { class: 'card', dataset: { binome: b.key } },
      h('h3', { text: M.binomeTitle(b) }),
      live((x) => drawMerge(x, b)),
      live((x) => drawCheckLive(x, b)),
      keyed(() => JSON.stringify([candidatesFor(b), checkState(b)]), (x) => drawCheckForm(x, b)),
      keyed(() => JSON.stringify([candidatesFor(b), store.get('decision', b.key) || null, checkState(b)]), (x) => drawDecision(x, b))))));
  });
}

// keyed is a part redrawn only when keyFn's value changes: its forms keep
// what the facilitator is choosing while other data changes.
function keyed(keyFn, draw) {
  return live((el) => {
    const k = keyFn();
    if (el.dataset.k === k) return false;
    el.dataset.k = k;
    return draw(el);
  });
}

function candidatesFor(b) {
  const mg = M.merge(store, b.key);
  return mg.names.length ? mg.names.map((n) => n.profileId) : M.profilesFor(store, b.key).map((p) => p.id);
}

function checkState(b) {
  const c = M.openCheck(store, b.key);
  return c ? [c.id, c.open] : null;
}

function drawMerge(el, b) {
  const mg = M.merge(store, b.key);
  fill(el,
    h('p', { class: 'muted', text: t('screen.submitted', { n: mg.submitted, of: mg.groupCount }) }),
    mg.readyPair ? h('p', { class: 'ok', text: `✓ ${t('plenary.ready')}` }) : null,
    mg.names.length ? h('ul', { class: 'list' }, mg.names.map((n) => h('li', { class: n.all ? 'hi' : '' },
      h('span', { class: 'grow', text: `${n.all ? '★ ' : ''}${M.profileLabel(store, n.profileId)}` }),
      n.all ? h('span', { class: 'badge', text: t('plenary.allGroups') }) : null,
      h('span', { text: `${n.count}/${mg.groupCount}` }),
      M.ineligibility(store, n.profileId) ? h('span', { class: 'error', text: `⚠ ${t(`elig.${M.ineligibility(store, n.profileId)}`)}` }) : null)))
      : h('p', { class: 'muted', text: t('plenary.noName') }));
}

function drawCheckLive(el, b) {
  const check = M.openCheck(store, b.key);
  if (!check) { fill(el); return; }
  const counts = M.checkCounts(check);
  fill(el, h('div', { class: check.open ? 'card' : '' },
    h('h4', { text: `${check.open ? t('check.title') : t('check.last')} : ${(check.pair || []).map((p) => M.profileName(store, p)).join(' & ')}` }),
    h('p', { class: 'checkcounts', role: 'status', text: `${t('check.support')} ${counts.support} · ${t('check.reservation')} ${counts.reservation} · ${t('check.objection')} ${counts.objection} (${t('check.standingN', { n: counts.standing })})` }),
    objections(check),
    check.open ? h('button', { type: 'button', class: 'secondary small', text: t('check.close'), on: { click: () => send('check.close', { checkId: check.id }) } }) : null));
}

function pairSelects(b, preset, cls) {
  const cands = candidatesFor(b);
  return [0, 1].map((i) => h('select', { 'aria-label': `${t('plenary.person')} ${i + 1}`, class: `${cls}-${i}` },
    h('option', { value: '', text: '—' }), cands.map((pid) => h('option', { value: pid, selected: pid === preset[i], text: M.profileLabel(store, pid) }))));
}

function presetPair(b) {
  const mg = M.merge(store, b.key);
  return mg.readyPair || (mg.names.length >= 2 ? [mg.names[0].profileId, mg.names[1].profileId] : []);
}

function drawCheckForm(el, b) {
  const check = M.openCheck(store, b.key);
  if (check && check.open) { fill(el); return; }
  const [a, c] = pairSelects(b, presetPair(b), 'check-pair');
  fill(el, h('div', { class: 'stack' },
    h('div', { class: 'row' }, a, c),
    h('button', {
      type: 'button', class: 'secondary small open-check', text: t('check.open'),
      on: {
        click: () => {
          if (!a.value || !c.value || a.value === c.value) { announce(t('plenary.pickTwo'), 'error'); return; }
          send('check.open', { checkId: uuid(), binome: b.key, pair: [a.value, c.value] });
        },
      },
    })));
}

function objections(check) {
  const objs = M.objections(check);
  if (!objs.length) return null;
  return h('ul', { class: 'list objections' }, objs.map((o) => h('li', null,
    h('span', { class: 'grow' }, h('strong', { text: o.name || M.memberName(store, o.memberId) || `${t('check.objection')} ${o.no}` }), ' : ', o.argument || ''),
    h('span', { text: o.standing ? t('check.standing') : t('check.lifted') }),
    o.memberId && check.open !== undefined ? h('button', {
      type: 'button', class: 'secondary small', text: o.standing ? t('check.lift') : t('check.reinstate'),
      on: { click: () => send('check.standing', { checkId: check.id, memberId: o.memberId, standing: !o.standing }) },
    }) : null)));
}

function drawDecision(el, b) {
  const dec = store.get('decision', b.key);
  const check = M.openCheck(store, b.key);
  const cands = candidatesFor(b);
  const [a, c] = pairSelects(b, dec && dec.pair ? dec.pair : (check ? check.pair : presetPair(b)), 'decision-pair');
  const name = `outcome-${b.key}`;
  const radios = ['designated', 'no_consensus', 'no_candidate'].map((o) => h('label', { class: 'check' },
    h('input', { type: 'radio', name, value: o, checked: dec ? dec.outcome === o : o === 'designated' }), h('span', { text: t(`outcome.${o}`) })));
  const debated = h('fieldset', null, h('legend', { text: t('plenary.debated') }), cands.map((pid) => h('label', { class: 'check' },
    h('input', { type: 'checkbox', value: pid, checked: !!dec && (dec.debated || []).includes(pid) }), h('span', { text: M.profileLabel(store, pid) }))));
  const note = h('input', { 'aria-label': t('plenary.note'), placeholder: t('plenary.note'), maxLength: 500, value: dec ? dec.note || '' : '' });
  const pairRow = h('div', { class: 'row' }, a, c);
  // Only the fields of the chosen outcome are shown.
  const showFields = () => {
    const o = (radios.map((r) => r.querySelector('input')).find((i) => i.checked) || {}).value;
    pairRow.hidden = o !== 'designated';
    debated.hidden = o !== 'no_consensus';
  };
  for (const r of radios) r.querySelector('input').addEventListener('change', showFields);
  showFields();
  const box = h('form', {
    class: 'stack decision',
    on: {
      submit: (e) => {
        e.preventDefault();
        const outcome = box.querySelector(`input[name="${name}"]:checked`).value;
        const d = { binome: b.key, outcome, note: note.value.trim() };
        if (outcome === 'designated') {
          if (!a.value || !c.value || a.value === c.value) { announce(t('plenary.pickTwo'), 'error'); return; }
          d.pair = [a.value, c.value];
          const ck = M.openCheck(store, b.key);
          if (ck && ck.pair && [...ck.pair].sort().join() === [...d.pair].sort().join()) d.checkId = ck.id;
        }
        if (outcome === 'no_consensus') d.debated = [...debated.querySelectorAll('input:checked')].map((i) => i.value);
        send('decision.set', { decision: d });
      },
    },
  }, h('h4', { text: t('plenary.decision') }),
  dec ? h('p', { class: 'ok decision-now', text: decisionText(dec) }) : null,
  h('fieldset', null, h('legend', { text: t('plenary.outcome') }), radios), pairRow, debated, note,
  h('div', { class: 'row' }, h('button', { type: 'submit', class: 'small record', text: t('plenary.record') }),
    dec ? h('button', { type: 'button', class: 'secondary small', text: t('plenary.clear'), on: { click: () => send('decision.clear', { binome: b.key }) } }) : null));
  fill(el, box);
}

function decisionText(dec) {
  if (dec.outcome === 'designated') return `✓ ${t('outcome.designated')} : ${(dec.pair || []).map((p) => M.profileLabel(store, p)).join(' & ')}`;
  if (dec.outcome === 'no_consensus') return `${t('outcome.no_consensus')} : ${(dec.debated || []).map((p) => M.profileLabel(store, p)).join(', ')}`;
  return t('outcome.no_candidate');
}

// --- Report and purge ---
function buildReport() {
  const base = `/api/meetings/${encodeURIComponent(meetingId)}`;
  const pre = h('pre', { class: 'report', id: 'report-text', hidden: true });
  const copy = h('button', {
    type: 'button', class: 'secondary', id: 'report-copy', hidden: true, text: t('report.copy'),
    on: { click: () => navigator.clipboard.writeText(pre.textContent).then(() => announce(t('common.copied')), () => announce(t('common.copyFailed'), 'error')) },
  });
  const confirmBox = h('input', { type: 'checkbox', id: 'purge-confirm' });
  return [
    h('div', { class: 'card stack' },
      h('div', { class: 'row' },
        h('button', {
          type: 'button', id: 'report-load', text: t('report.show'),
          on: {
            click: async () => {
              try {
                pre.textContent = await api('GET', `${base}/report.txt`, undefined, { Accept: 'text/plain' });
                pre.hidden = false;
                copy.hidden = false;
              } catch (err) { announce(err.message, 'error'); }
            },
          },
        }), copy,
        h('a', { class: 'button secondary', href: `${base}/report.csv`, download: 'rapport.csv', text: 'CSV' }),
        h('a', { class: 'button secondary', href: `${base}/report.json`, download: 'rapport.json', text: 'JSON' }),
        h('button', { type: 'button', class: 'secondary', text: t('report.print'), on: { click: () => { if (pre.hidden) announce(t('report.loadFirst')); else window.print(); } } })),
      pre),
    h('div', { class: 'card stack noprint' }, h('h3', { text: t('purge.title') }),
      h('p', { class: 'warn', text: t('purge.explain') }),
      h('label', { class: 'check' }, confirmBox, h('span', { text: t('purge.confirm') })),
      h('button', {
        type: 'button', class: 'danger', id: 'purge', text: t('purge.button'),
        on: {
          click: () => {
            if (!confirmBox.checked) { announce(t('purge.tickFirst'), 'error'); return; }
            if (confirm(t('purge.really'))) send('meeting.purge', {});
          },
        },
      }),
      live((el) => fill(el, store.meeting.purged ? h('p', { class: 'ok', text: `✓ ${t('purge.done')}` }) : null))),
  ];
}

// The page starts once every declaration above is initialised.
build();
sync.start();
setInterval(() => {
  const el = document.getElementById('console-timer');
  const end = store.meeting.timerEnd;
  if (el) el.textContent = end ? countdown(new Date(end), store.now()) : '';
}, 1000);
