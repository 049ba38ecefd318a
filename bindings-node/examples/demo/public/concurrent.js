'use strict'
// The concurrency page's button: two requests at the same moment, changing different keys of
// one session; the server holds each until the other has loaded the session. Then the page
// reloads to show the session as stored, both changes kept.
const button = document.getElementById('two-at-once')
button.addEventListener('click', async () => {
  button.disabled = true
  document.getElementById('pending').hidden = false
  const pair = crypto.randomUUID()
  // Each body to its end: express-session sends the headers before its save is done, and the
  // last byte of the body after it.
  const send = async (what) => (await fetch(`/concurrent/${what}?pair=${pair}`, { method: 'POST' })).text()
  await Promise.all([send('cart'), send('note')])
  location.reload()
})
