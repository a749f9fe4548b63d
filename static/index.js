// index.js: join a meeting by its code, or create one (facilitators) and
// get its links.
import { t, initLang } from './i18n.js';
import { $, api, announce } from './render.js';

initLang($('#lang'));

$('#code').addEventListener('input', (e) => {
  e.target.value = e.target.value.toUpperCase().replace(/[^A-Z]/g, '').slice(0, 6);
});

$('#join-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = $('#code').value.trim().toUpperCase();
  $('#join-error').textContent = '';
  if (!/^[A-Z]{6}$/.test(code)) {
    $('#join-error').textContent = t('index.badCode');
    return;
  }
  try {
    await api('GET', `/api/join/${encodeURIComponent(code)}`);
  } catch (err) {
    $('#join-error').textContent = err.status === 404 ? t('index.unknownCode') : err.message;
    return;
  }
  location.assign(`/join/${code}`);
});

const WINDOW = ['2026-06-25', '2026-07-05'];
$('#c-date').addEventListener('change', () => {
  const d = $('#c-date').value;
  $('#c-window').hidden = !d || (d >= WINDOW[0] && d <= WINDOW[1]);
});

$('#create-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const f = e.target;
  $('#create-error').textContent = '';
  const body = {
    title: f.elements.namedItem('title').value.trim(),
    department: f.elements.namedItem('department').value.trim(),
    date: f.elements.namedItem('date').value,
    startTime: f.elements.namedItem('startTime').value,
    place: f.elements.namedItem('place').value.trim(),
    videoUrl: f.elements.namedItem('videoUrl').value.trim(),
    lang: document.documentElement.lang === 'en' ? 'en' : 'fr',
    facilitators: [f.elements.namedItem('fac1').value.trim(), f.elements.namedItem('fac2').value.trim()].filter(Boolean),
    parity: f.elements.namedItem('parity').checked,
  };
  const btn = f.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    const res = await api('POST', '/api/meetings', body);
    const abs = (u) => new URL(u, location.origin).href;
    $('#out-code').textContent = res.joinCode;
    for (const [id, url] of [['#out-admin', res.adminUrl], ['#out-screen', res.screenUrl], ['#out-join', res.joinUrl]]) {
      const a = $(id);
      a.href = abs(url);
      a.textContent = abs(url);
    }
    $('#created').hidden = false;
    $('#created').scrollIntoView();
    announce(t('index.createdTitle'));
  } catch (err) {
    $('#create-error').textContent = err.message;
  } finally {
    btn.disabled = false;
  }
});

$('#copy-links').addEventListener('click', async () => {
  const text = [
    `${t('index.joinCode')}: ${$('#out-code').textContent}`,
    `${t('index.adminLink')}: ${$('#out-admin').href}`,
    `${t('index.screenLink')}: ${$('#out-screen').href}`,
    `${t('index.joinLink')}: ${$('#out-join').href}`,
  ].join('\n');
  try {
    await navigator.clipboard.writeText(text);
    announce(t('common.copied'));
  } catch {
    announce(t('common.copyFailed'), 'error');
  }
});
