// model.js reads the local store (see sync.js) the way every screen needs
// it: names, labels, eligibility and the plenary merge. The server decides
// and re-checks everything; these are for display.

import { lang } from './i18n.js';

export const STEPS = ['before', 'I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'closed'];

export function template(store) {
  return store.meeting.template || { binomes: [] };
}

export function binomes(store) {
  return template(store).binomes || [];
}

export function binomeTitle(b) {
  return (lang() === 'en' && b.titleEn) || b.title || b.key;
}

export function binomeMission(b) {
  return (lang() === 'en' && b.missionEn) || b.mission || '';
}

export function byName(a, b) {
  return (a.name || '').localeCompare(b.name || '', 'fr', { sensitivity: 'base' });
}

export function members(store) {
  return store.all('member').sort(byName);
}

export function groups(store) {
  return store.all('group').sort((a, b) =>
    (a.name || '').localeCompare(b.name || '', 'fr', { numeric: true }) || a.id.localeCompare(b.id));
}

export function actionGroupName(store, id) {
  const ga = id && store.get('actionGroup', id);
  return ga ? ga.name : '';
}

export function memberName(store, id) {
  const m = id && store.get('member', id);
  return m ? m.name : '';
}

// memberLabel is the name with the action group, which tells homonyms apart.
export function memberLabel(store, id) {
  const m = id && store.get('member', id);
  if (!m) return '';
  const ga = actionGroupName(store, m.actionGroupId);
  return ga ? `${m.name} (${ga})` : m.name;
}

export function profileMember(store, profileId) {
  const p = store.get('profile', profileId);
  return p ? store.get('member', p.memberId) : undefined;
}

export function profileName(store, profileId) {
  const m = profileMember(store, profileId);
  return m ? m.name : '?';
}

export function profileLabel(store, profileId) {
  const p = store.get('profile', profileId);
  return p ? memberLabel(store, p.memberId) : '?';
}

export function profilesFor(store, binomeKey) {
  return store.all('profile')
    .filter((p) => (p.binomes || []).includes(binomeKey))
    .sort((a, b) => profileName(store, a.id).localeCompare(profileName(store, b.id), 'fr'));
}

// ineligibility is why a profile may not be designated ("" when it may):
// its action group must be certified strictly before the template's cutoff.
export function ineligibility(store, profileId) {
  const m = profileMember(store, profileId);
  if (!m) return 'unknown';
  const ga = m.actionGroupId && store.get('actionGroup', m.actionGroupId);
  if (!ga || !ga.certifiedOn) return 'not_certified';
  const cutoff = template(store).certifiedBefore;
  if (cutoff && !(ga.certifiedOn < cutoff)) return 'certified_late';
  return '';
}

// pairIssues lists what is wrong with a pair of profile ids (empty: none).
export function pairIssues(store, pair) {
  const out = [];
  if (!pair || pair.length !== 2) return out;
  const [a, b] = pair.map((id) => profileMember(store, id));
  if (!a || !b || a.id === b.id) out.push('same_person');
  else if (a.actionGroupId && a.actionGroupId === b.actionGroupId) out.push('same_group');
  for (const id of pair) if (ineligibility(store, id)) out.push('ineligible');
  return out;
}

// merge is the plenary merge of one binome, from the groups' lists:
//   names: [{profileId, groups:[groupId...], count, all}] most named first
//   groupCount, submitted, readyPair ([a,b] when every group reported the
//   same consensus pair, else null).
// The server sends its own merge (kind "merge"); when it has the expected
// fields it is used for the counts, the rest is derived the same way.
export function merge(store, binomeKey) {
  const gs = groups(store);
  const byProfile = new Map();
  let pairKey = null;
  let samePair = gs.length > 0;
  for (const g of gs) {
    const list = (g.lists || {})[binomeKey] || { names: [], consensus: false };
    for (const pid of list.names || []) {
      if (!byProfile.has(pid)) byProfile.set(pid, { profileId: pid, groups: [] });
      byProfile.get(pid).groups.push(g.id);
    }
    const names = list.names || [];
    if (list.consensus && names.length === 2) {
      const k = [...names].sort().join('|');
      if (pairKey === null) pairKey = k;
      else if (pairKey !== k) samePair = false;
    } else samePair = false;
  }
  const names = [...byProfile.values()].map((e) => ({
    ...e, count: e.groups.length, all: gs.length > 0 && e.groups.length === gs.length,
  }));
  names.sort((a, b) => b.count - a.count || profileName(store, a.profileId).localeCompare(profileName(store, b.profileId), 'fr'));
  return {
    names,
    groupCount: gs.length,
    submitted: gs.filter((g) => g.submitted).length,
    readyPair: samePair && pairKey ? pairKey.split('|') : null,
  };
}

// openCheck is the open consensus check (at most one is expected), or the
// latest check of a binome when binomeKey is given.
export function openCheck(store, binomeKey) {
  const checks = store.all('check').filter((c) => !binomeKey || c.binome === binomeKey);
  const open = checks.find((c) => c.open);
  if (open || !binomeKey) return open;
  return checks.sort((a, b) => String(b.openedAt).localeCompare(String(a.openedAt)))[0];
}

// checkCounts counts a check's answers; objections are split into standing
// and lifted.
export function checkCounts(check) {
  const c = { support: 0, reservation: 0, objection: 0, standing: 0, total: 0 };
  if (!check) return c;
  const answers = check.answers || {};
  for (const a of Array.isArray(answers) ? answers : Object.values(answers)) {
    if (!a) continue;
    c.total++;
    if (a.kind in c) c[a.kind]++;
    if (a.kind === 'objection' && a.standing !== false) c.standing++;
  }
  return c;
}

export function checkAnswers(check) {
  const answers = (check && check.answers) || {};
  return Array.isArray(answers) ? answers.map((a, i) => [a.memberId || String(i), a])
    : Object.entries(answers);
}

// dateOutsideWindow says whether the meeting's date is outside the
// template's recommended window.
export function dateOutsideWindow(store) {
  const d = store.meeting.info && store.meeting.info.date;
  const t = template(store);
  if (!d || !t.windowStart || !t.windowEnd) return false;
  return d < t.windowStart || d > t.windowEnd;
}

// myGroup is the breakout group of the connected member.
export function myGroup(store) {
  const me = store.get('member', store.memberId);
  return me && me.groupId ? store.get('group', me.groupId) : undefined;
}
