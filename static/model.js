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
  return store.all('group').sort((a, b) => (a.pos || 0) - (b.pos || 0) || a.id.localeCompare(b.id));
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

// ineligibility is why a profile may not be designated ("" when it may),
// as a reason code of meeting/eligibility.go: the server says it in the
// member's view; without it, the rule is applied here (its action group
// certified strictly before the template's cutoff).
export function ineligibility(store, profileId) {
  const m = profileMember(store, profileId);
  if (!m) return 'no_action_group';
  if (m.eligible === true) return '';
  if (m.eligible === false) return m.reason || 'not_certified';
  const ga = m.actionGroupId && store.get('actionGroup', m.actionGroupId);
  if (!ga) return 'no_action_group';
  if (!ga.certifiedOn) return 'not_certified';
  const cutoff = template(store).certifiedBefore;
  if (cutoff && !(ga.certifiedOn < cutoff)) return 'certified_too_late';
  return '';
}

// pairIssues lists what is wrong with a pair of profile ids (empty: none).
export function pairIssues(store, pair) {
  const out = [];
  if (!pair || pair.length !== 2) return out;
  const [a, b] = pair.map((id) => profileMember(store, id));
  if (!a || !b || a.id === b.id) out.push('same_person');
  else if (a.actionGroupId && a.actionGroupId === b.actionGroupId) out.push('same_action_group');
  for (const id of pair) {
    const why = ineligibility(store, id);
    if (why && !out.includes(why)) out.push(why);
  }
  return out;
}

// merge is the plenary merge of one binome:
//   names: [{profileId, groups:[groupId...], count, all}] most named first
//   groupCount, submitted, readyPair ([a,b] when "ready to confirm": every
//   group reported the same eligible consensus pair and submitted),
//   samePair (the pair, even when not ready), pairReason.
// It is the server's merge (kind "merge", meeting/merge.go); without one it
// is derived here from the groups' lists the same way.
export function merge(store, binomeKey) {
  const m = store.get('merge', binomeKey);
  if (m && Array.isArray(m.names)) {
    return {
      names: m.names.map((n) => ({ profileId: n.profileId, groups: n.groups || [], count: n.count, all: !!n.everyone })),
      groupCount: m.total || 0,
      submitted: m.submitted || 0,
      readyPair: m.ready && m.pair ? m.pair : null,
      samePair: m.samePair && m.pair ? m.pair : null,
      pairReason: m.pairReason || '',
    };
  }
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
  const pair = samePair && pairKey ? pairKey.split('|') : null;
  const submitted = gs.filter((g) => g.submitted).length;
  const ready = pair && !pairIssues(store, pair).length && submitted === gs.length ? pair : null;
  return { names, groupCount: gs.length, submitted, readyPair: ready, samePair: pair, pairReason: pair ? pairIssues(store, pair)[0] || '' : '' };
}

// openCheck is the open consensus check (at most one is expected), or the
// latest check of a binome when binomeKey is given.
export function openCheck(store, binomeKey) {
  const checks = store.all('check').filter((c) => !binomeKey || c.binome === binomeKey);
  const open = checks.find((c) => c.open);
  if (open || !binomeKey) return open;
  return checks.sort((a, b) => String(b.openedAt).localeCompare(String(a.openedAt)))[0];
}

// checkCounts counts a check's answers (the server's result when there is
// one); standing counts the objections that still stand.
export function checkCounts(check) {
  const c = { support: 0, reservation: 0, objection: 0, standing: 0, total: 0 };
  if (!check) return c;
  if (check.result) {
    const r = check.result;
    return { support: r.support || 0, reservation: r.reservation || 0, objection: r.objection || 0, standing: r.standing || 0, total: r.answers || 0 };
  }
  for (const a of Object.values(check.answers || {})) {
    if (!a) continue;
    c.total++;
    if (a.kind in c) c[a.kind]++;
    if (a.kind === 'objection' && a.standing !== false) c.standing++;
  }
  return c;
}

// objections lists a check's objections: [{no, memberId, name, argument,
// standing}] (memberId and name only in the facilitators' view).
export function objections(check) {
  if (!check) return [];
  if (check.result && Array.isArray(check.result.objections)) return check.result.objections;
  return Object.entries(check.answers || {}).filter(([, a]) => a && a.kind === 'objection')
    .map(([memberId, a], i) => ({ no: i + 1, memberId, argument: a.argument, standing: a.standing !== false }));
}

// dateOutsideWindow says whether the meeting's date is outside the
// template's recommended window.
export function dateOutsideWindow(store) {
  if (typeof store.meeting.dateOutsideWindow === 'boolean') return store.meeting.dateOutsideWindow;
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
