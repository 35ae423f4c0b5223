/**
 * The mock's verification page: the HTML a person (or a test posting the same form) uses to enter a
 * user code and approve or deny the sign-in. Plain server-rendered HTML with no script, so that a
 * form POST of `user_code` and `action=approve|deny` is the whole interface.
 */

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}input{font-size:1.5em;letter-spacing:.1em}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** GET: the form, with the code filled in when the link carried one (`verification_uri_complete`). */
export function approvalForm(action: string, userCode: string, message = ""): string {
  return layout(
    "Connect a device",
    `${message ? `<p>${escapeHtml(message)}</p>\n` : ""}<p>Enter the code shown on your device.</p>
<form method="post" action="${escapeHtml(action)}">
<input name="user_code" value="${escapeHtml(userCode)}" autocomplete="off" autofocus>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny">Deny</button>
</form>`,
  );
}

/** POST: the outcome, said in words a person can act on. */
export function approvalResult(title: string, text: string): string {
  return layout(title, `<p>${escapeHtml(text)}</p>`);
}
