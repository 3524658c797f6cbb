// Block Kit, rendered readably for the demo's Slack preview: headers, sections (with their
// fields and accessory), context lines, dividers and buttons, with Slack's mrkdwn shown as
// bold, italics, code and links. Text is data: it is never injected as HTML.
import type { ReactNode } from 'react';

type Json = Record<string, any>;

/** Slack mrkdwn → React nodes: <url|label>, *bold*, _italic_, `code`, and Slack's HTML entities. */
export function Mrkdwn({ text }: { text: string }) {
  const out: ReactNode[] = [];
  const re = /<([^>|]+)(?:\|([^>]+))?>|\*([^*\n]+)\*|_([^_\n]+)_|`([^`\n]+)`/g;
  const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    if (m.index > last) out.push(unescape(text.slice(last, m.index)));
    if (m[1]) out.push(/^https?:/.test(m[1]) ? <a key={m.index} href={m[1]} target="_blank" rel="noreferrer">{unescape(m[2] ?? m[1])}</a> : <span key={m.index} className="mention">{unescape(m[2] ?? m[1])}</span>);
    else if (m[3]) out.push(<strong key={m.index}>{unescape(m[3])}</strong>);
    else if (m[4]) out.push(<em key={m.index}>{unescape(m[4])}</em>);
    else if (m[5]) out.push(<code key={m.index}>{unescape(m[5])}</code>);
    last = re.lastIndex;
  }
  if (last < text.length) out.push(unescape(text.slice(last)));
  return <>{out.map((n, i) => (typeof n === 'string' ? n.split('\n').flatMap((line, j) => (j ? [<br key={`${i}-${j}`} />, line] : [line])) : n))}</>;
}

const textOf = (t: Json | undefined) => (t?.text ? String(t.text) : '');

function Element({ e }: { e: Json }) {
  if (e.type === 'button') return <span className={`slack-button ${e.style ?? ''}`}>{textOf(e.text)}</span>;
  if (e.type === 'image') return <span className="muted">[image: {e.alt_text}]</span>;
  if (e.type === 'mrkdwn' || e.type === 'plain_text') return <Mrkdwn text={textOf(e)} />;
  return <span className="muted">[{e.type}]</span>;
}

export function BlockKit({ blocks, text }: { blocks: unknown[]; text: string }) {
  if (!blocks?.length) return <div className="slack-block"><Mrkdwn text={text} /></div>;
  return (
    <div className="slack-message">
      {(blocks as Json[]).map((b, i) => {
        if (b.type === 'header') return <div key={i} className="slack-header">{textOf(b.text)}</div>;
        if (b.type === 'divider') return <hr key={i} />;
        if (b.type === 'context') return <div key={i} className="slack-context">{(b.elements ?? []).map((e: Json, j: number) => <span key={j}><Element e={e} /> </span>)}</div>;
        if (b.type === 'actions') return <div key={i} className="slack-actions">{(b.elements ?? []).map((e: Json, j: number) => <Element key={j} e={e} />)}</div>;
        if (b.type === 'section')
          return (
            <div key={i} className="slack-section">
              <div>
                {b.text ? <Mrkdwn text={textOf(b.text)} /> : null}
                {b.fields?.length ? <div className="slack-fields">{b.fields.map((f: Json, j: number) => <div key={j}><Mrkdwn text={textOf(f)} /></div>)}</div> : null}
              </div>
              {b.accessory ? <Element e={b.accessory} /> : null}
            </div>
          );
        return <div key={i} className="muted">[{String(b.type)} block]</div>;
      })}
    </div>
  );
}
