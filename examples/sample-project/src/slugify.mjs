/**
 * Turns a title into a URL slug: lower case, words joined by single dashes, no punctuation.
 * slugify('Hello, World!') === 'hello-world'
 *
 * Deliberately buggy (the example workflows fix a copy of it): it keeps punctuation and turns every
 * single whitespace character into its own dash.
 */
export function slugify(title) {
  return title.toLowerCase().trim().replace(/\s/g, '-')
}
