// @ts-check
// A tiny element builder, so scenes read like the page they make.

/**
 * @param {string} tag
 * @param {Object<string, string|number|boolean|null|undefined|((ev: Event) => void)>} [attrs] attributes; `text` sets textContent, `html` innerHTML (trusted:
 *   researcher-written), `on<event>` adds a listener, `data-*`/others are set as attributes
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") el.textContent = String(value);
    else if (name === "html") el.innerHTML = String(value);
    else if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}

/** Replace everything in `root` with `children`. @param {HTMLElement} root @param {...Node} children */
export function show(root, ...children) {
  root.replaceChildren(...children);
  window.scrollTo(0, 0);
}

/**
 * A full-page message (an error, another tab, a kicked session).
 * @param {HTMLElement} root
 * @param {string} title
 * @param {string} text
 */
export function message(root, title, text) {
  show(root, h("section", { class: "mug-message", role: "alert" }, h("h1", { text: title }), h("p", { text })));
}
