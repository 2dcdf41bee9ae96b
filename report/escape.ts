/** Escaping for the two text formats the report writes: HTML and Markdown. */

/** Text safe to put into HTML element content and double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/**
 * Text safe to put into a Markdown paragraph or table cell: HTML-significant characters become
 * entities, Markdown punctuation is backslash-escaped (so a label never turns into emphasis,
 * code, a link or a column break), and line breaks become spaces.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#])/g, '\\$1')
    .replace(/\s*\n\s*/g, ' ');
}
