/**
 * The report e-mail's body: HTML built with MJML (table layout and inline styles, so Outlook's
 * Word engine, Gmail and phone clients show the same thing) and its plain-text twin. Every word
 * comes from the report model's messages (templates/locales/<locale>.json, overridden by the
 * report's templates folder, the PDF's own catalogue), every figure from the report model, and
 * every value from the data is HTML-escaped before it enters the markup.
 */
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { msg } from '../render/messages.js';
import type { IndicatorModel, ReportModel, Tone, VerdictModel } from '../render/reportModel.js';
import type { Status } from '../metrics/schema.js';

/** One file the message carries, or links to when it is too large to attach. */
export interface EmailFile {
  kind: 'pdf' | 'workbook';
  name: string;
  /** null: attached; otherwise the link it is sent as. */
  link: string | null;
}

export interface EmailInput {
  model: ReportModel;
  files: EmailFile[];
  /** A test copy: marked in the subject and by a banner naming the one address it goes to. */
  test?: { address: string };
}

export interface EmailContent {
  subject: string;
  html: string;
  text: string;
  verdict: VerdictModel;
  attention: IndicatorModel[];
}

export class EmailRenderError extends Error {
  override name = 'EmailRenderError';
}

const esc = (s: string | number): string => Handlebars.Utils.escapeExpression(String(s));

const FONT = "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, 'Noto Sans', 'PingFang SC', 'Microsoft YaHei', 'Noto Sans SC', sans-serif";
const INK = '#1f2328';
const MUTED = '#59636e';
const STATUS_COLOR: Record<Status, string> = { met: '#1a7f37', at_risk: '#9a6700', missed: '#cf222e', no_target: '#59636e', no_data: '#59636e' };
const STATUS_BG: Record<Status, string> = { met: '#dafbe1', at_risk: '#fff8c5', missed: '#ffebe9', no_target: '#eff2f5', no_data: '#eff2f5' };
const TONE_COLOR: Record<Tone, string> = { good: '#1a7f37', bad: '#cf222e', neutral: '#59636e' };
const VERDICT_COLOR: Record<VerdictModel['tone'], string> = { good: '#1a7f37', warn: '#9a6700', bad: '#cf222e', neutral: '#59636e' };
const ARROW = { up: '&#9650;', down: '&#9660;', flat: '&#9644;', none: '' } as const;

/** Subject, HTML and plain text of the report e-mail for a model (its locale, messages and figures). */
export async function renderEmail(input: EmailInput): Promise<EmailContent> {
  const { model } = input;
  const t = (key: string, params: Record<string, unknown> = {}) => msg(model.messages, model.locale, key, params);
  const list = Object.values(model.indicators);
  // The executive page's own verdict and attention list (reportModel.ts): the e-mail says what the PDF says.
  const v = model.verdict;
  const attention = model.attention;
  const count = (s: Status) => list.filter((i) => i.status === s).length;
  const baseSubject = t('email.subject', { title: model.title, period: model.period.label });
  const subject = input.test ? t('email.testSubject', { subject: baseSubject }) : baseSubject;
  const fileLines = input.files.map((f) =>
    f.kind === 'pdf'
      ? f.link === null ? t('email.attached') : t('email.link', { url: f.link })
      : f.link === null ? t('email.attachedWorkbook', { name: f.name }) : t('email.linkWorkbook', { url: f.link }),
  );
  const banner = input.test ? t('email.testBanner', { address: input.test.address }) : null;
  const changeNote = t('email.changeNote', { previous: model.period.previousLabel });
  const footer = t('email.footer', { generated: model.generatedAtText });

  // --- plain text -------------------------------------------------------------------------------
  const textLines: string[] = [];
  if (banner) textLines.push(`*** ${banner} ***`, '');
  textLines.push(t('email.intro', { title: model.title, period: model.period.label }), '', v.text);
  textLines.push(t('email.summary', { met: count('met'), atRisk: count('at_risk'), missed: count('missed') }), '');
  textLines.push(t('email.attentionTitle'));
  if (attention.length === 0) textLines.push(t('email.attentionNone'));
  for (const i of attention) {
    const change = i.change.toneWord ? `${i.change.text} (${i.change.toneWord})` : i.change.text;
    textLines.push(`- ${i.name}: ${i.valueText} · ${t('labels.target')} ${i.targetText} · ${t('labels.change')} ${change} · ${i.statusWord}`);
    if (i.driver) textLines.push(`  ${i.driver.text}`);
  }
  if (model.attentionMoreText) textLines.push(model.attentionMoreText);
  if (attention.length) textLines.push(changeNote);
  textLines.push('', ...fileLines, '', footer);
  const text = `${textLines.join('\n')}\n`;

  // --- HTML -------------------------------------------------------------------------------------
  const th = (s: string, align: 'left' | 'right') =>
    `<th style="text-align:${align};white-space:nowrap;padding:8px 6px;border-bottom:2px solid #d0d7de;color:${MUTED};font-size:12px;font-weight:600;">${esc(s)}</th>`;
  const rows = attention
    .map((i) => {
      const pill = `<span style="display:inline-block;white-space:nowrap;padding:1px 8px;border-radius:10px;background:${STATUS_BG[i.status]};color:${STATUS_COLOR[i.status]};font-size:12px;font-weight:600;">${esc(i.statusWord)}</span>`;
      const arrow = i.change.arrow !== 'none' ? `<span style="color:${TONE_COLOR[i.change.tone]};">${ARROW[i.change.arrow]}</span>&nbsp;` : '';
      const toneWord = i.change.toneWord ? `<br><span style="color:${TONE_COLOR[i.change.tone]};font-size:12px;">${esc(i.change.toneWord)}</span>` : '';
      const td = 'padding:10px 6px;border-bottom:1px solid #eaeef2;vertical-align:top;';
      return (
        `<tr>` +
        `<td style="${td}"><span style="font-weight:600;color:${INK};">${esc(i.name)}</span><br>${pill}` +
        (i.driver ? `<br><span style="color:${MUTED};font-size:12px;">${esc(i.driver.text)}</span>` : '') +
        `</td>` +
        `<td style="${td}text-align:right;white-space:nowrap;"><span style="font-weight:700;color:${STATUS_COLOR[i.status]};">${esc(i.valueText)}</span>` +
        `<br><span style="color:${MUTED};font-size:12px;">${esc(t('labels.target'))} ${esc(i.targetText)}</span></td>` +
        `<td style="${td}text-align:right;white-space:nowrap;">${arrow}${esc(i.change.text)}${toneWord}</td>` +
        `</tr>`
      );
    })
    .join('\n');
  const tile = (s: 'met' | 'at_risk' | 'missed') =>
    `<mj-column width="33.33%" padding="0 4px"><mj-text align="center" padding="12px 4px" container-background-color="${STATUS_BG[s]}" color="${STATUS_COLOR[s]}">` +
    `<span style="font-size:28px;font-weight:700;line-height:1.1;">${count(s)}</span><br><span style="font-size:13px;font-weight:600;">${esc(t(`status.${s}`))}</span></mj-text></mj-column>`;
  const attentionBlock = attention.length
    ? `<mj-table padding="4px 24px 0" font-size="14px" line-height="1.4" color="${INK}" cellpadding="0" cellspacing="0">
        <tr>${th(t('labels.colIndicator'), 'left')}${th(t('labels.colValue'), 'right')}${th(t('labels.colChange'), 'right')}</tr>
        ${rows}
      </mj-table>
      ${model.attentionMoreText ? `<mj-text font-size="14px" padding="10px 24px 0">${esc(model.attentionMoreText)}</mj-text>` : ''}
      <mj-text font-size="12px" color="${MUTED}" padding="8px 24px 0">${esc(changeNote)}</mj-text>`
    : `<mj-text padding="4px 24px 0">${esc(t('email.attentionNone'))}</mj-text>`;
  const fileBlock = fileLines
    .map((line, k) => {
      const f = input.files[k]!;
      const body = f.link === null ? esc(line) : esc(line).replace(esc(f.link), `<a href="${esc(f.link)}" style="color:#0969da;">${esc(f.link)}</a>`);
      const tag = `<span style="display:inline-block;padding:0 6px;margin-right:6px;border:1px solid #d0d7de;border-radius:4px;font-size:11px;font-weight:700;color:${MUTED};">${f.kind === 'pdf' ? 'PDF' : 'XLSX'}</span>`;
      return `<mj-text padding="4px 24px">${tag}${body}</mj-text>`;
    })
    .join('\n');
  const source = `<mjml lang="${esc(model.locale)}">
  <mj-head>
    <mj-title>${esc(subject)}</mj-title>
    <mj-preview>${esc(v.text)}</mj-preview>
    <mj-attributes>
      <mj-all font-family="${FONT}" />
      <mj-text font-size="15px" line-height="1.5" color="${INK}" padding="0 24px" />
      <mj-section padding="0" />
    </mj-attributes>
  </mj-head>
  <mj-body background-color="#f2f4f7" width="640px">
    <mj-section padding="16px 0 0"><mj-column></mj-column></mj-section>
    ${
      banner
        ? `<mj-section background-color="#fff8c5" border-left="6px solid #9a6700" padding="12px 0"><mj-column><mj-text font-size="14px" font-weight="600" color="#4d2d00">${esc(banner)}</mj-text></mj-column></mj-section>`
        : ''
    }
    <mj-section background-color="#1f3a5f" padding="22px 0 20px">
      <mj-column>
        ${model.organisation ? `<mj-text color="#c9d6e8" font-size="12px" letter-spacing="1px" padding="0 24px 4px">${esc(model.organisation)}</mj-text>` : ''}
        <mj-text color="#ffffff" font-size="22px" font-weight="700" line-height="1.3">${esc(model.title)}</mj-text>
        <mj-text color="#c9d6e8" font-size="15px" padding="4px 24px 0">${esc(model.period.label)}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="22px 0 6px">
      <mj-column>
        <mj-text font-size="18px" font-weight="600" line-height="1.4" color="${VERDICT_COLOR[v.tone]}">${esc(v.text)}</mj-text>
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="10px 20px 6px">
      <mj-group>${tile('met')}${tile('at_risk')}${tile('missed')}</mj-group>
    </mj-section>
    <mj-section background-color="#ffffff" padding="18px 0 18px">
      <mj-column>
        <mj-text font-size="16px" font-weight="700" padding="0 24px 4px">${esc(t('email.attentionTitle'))}</mj-text>
        ${attentionBlock}
      </mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" border-top="1px solid #eaeef2" padding="12px 0 18px">
      <mj-column>
        ${fileBlock}
      </mj-column>
    </mj-section>
    <mj-section padding="14px 0 24px">
      <mj-column>
        <mj-text font-size="12px" color="${MUTED}" line-height="1.5">${esc(footer)}</mj-text>
      </mj-column>
    </mj-section>
  </mj-body>
</mjml>`;
  const out = await mjml2html(source, { validationLevel: 'strict', keepComments: false, fonts: {} });
  if (out.errors?.length) throw new EmailRenderError(`e-mail markup: ${out.errors.map((e) => e.formattedMessage).join('; ')}`);
  return { subject, html: out.html, text, verdict: v, attention };
}
