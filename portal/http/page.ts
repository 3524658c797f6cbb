// A minimal, escaped HTML page for non-Remix routes (OAuth connect results and errors).
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function simplePage(title: string, message: string, link = { href: '/', label: 'Back to Pivotal' }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Pivotal</title><link rel="icon" href="/favicon.svg"></head>
<body style="font:15px/1.5 system-ui,sans-serif;background:#f8f9fb;color:#1d1f24;margin:0"><main style="max-width:36rem;margin:4rem auto;background:#fff;border:1px solid #e4e7ec;border-radius:10px;padding:1.5rem 2rem">
<h1 style="margin-top:0">${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="${escapeHtml(link.href)}" style="color:#4f46e5">${escapeHtml(link.label)}</a></p></main></body></html>`;
}
