// A TypeDoc plugin (typedoc.json): the API reference names a method keyed by a well-known
// symbol as its source does, `[Symbol.dispose]()`. TypeDoc names it `[dispose]`, and prints any
// name that is not an identifier as a string property, `"[dispose]"()`.
import { Converter, PageEvent } from 'typedoc';

const SYMBOL_NAME = /^\[(\w+)\]$/;

export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (_context, reflection) => {
    const symbol = SYMBOL_NAME.exec(reflection.name);
    if (symbol !== null && typeof Symbol[symbol[1]] === 'symbol') {
      reflection.name = `[Symbol.${symbol[1]}]`;
    }
  });
  app.renderer.on(PageEvent.END, (page) => {
    page.contents = page.contents?.replace(/&quot;(\[Symbol\.\w+\])&quot;/g, '$1');
  });
}
