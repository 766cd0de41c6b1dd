/**
 * The pinned SDK's `TextToImageCreateParams`, read from its .d.ts text: what the catalogue
 * (src/models.ts) and the create body (src/runway/create-body.ts) are checked against, so a new SDK
 * model, ratio, option or limit without its catalogue entry fails a test.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface SdkProperty {
  readonly name: string;
  readonly optional: boolean;
  /** The type as written, e.g. `'auto' | 'low'` or `number`. */
  readonly type: string;
  /** The doc comment above it, flattened to one line. */
  readonly doc: string;
}

export interface SdkModel {
  readonly id: string;
  /** The interface's name in the SDK's namespace, e.g. `GptImage2`. */
  readonly interfaceName: string;
  readonly properties: ReadonlyMap<string, SdkProperty>;
  /** The properties of its `ReferenceImage`. */
  readonly referenceProperties: ReadonlyMap<string, SdkProperty>;
}

/** Where the pinned SDK's text-to-image types are. */
export function textToImageDtsPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@runwayml/sdk')), 'resources', 'text-to-image.d.ts');
}

/** The string literals of a union type as written: `'a' | 'b' | (string & {})` gives a, b. */
export function literalsOf(type: string): string[] {
  return [...type.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? '');
}

/** Properties of one interface body (8-space indented members, each after its doc comment). */
function propertiesOf(body: string): Map<string, SdkProperty> {
  const properties = new Map<string, SdkProperty>();
  const member = /(?:\/\*\*([\s\S]*?)\*\/\s*)?^ {8}(\w+)(\??): ([^;]+);/gm;
  for (const match of body.matchAll(member)) {
    const [, rawDoc = '', name = '', optional = '', type = ''] = match;
    const doc = rawDoc.replace(/\s*\n\s*\*\s?/g, ' ').replace(/\s+/g, ' ').trim();
    properties.set(name, { name, optional: optional === '?', type: type.trim(), doc });
  }
  return properties;
}

/** Every model of `TextToImageCreateParams`, in the order of the SDK's union. */
export function readSdkTextToImage(text = readFileSync(textToImageDtsPath(), 'utf8')): { union: string[]; models: SdkModel[] } {
  const unionLine = /export type TextToImageCreateParams = ([^;]+);/.exec(text)?.[1] ?? '';
  const union = [...unionLine.matchAll(/TextToImageCreateParams\.(\w+)/g)].map((m) => m[1] ?? '');
  const models = union.map((interfaceName): SdkModel => {
    const body = new RegExp(`\\n {4}interface ${interfaceName} \\{\\n([\\s\\S]*?)\\n {4}\\}\\n`).exec(text)?.[1];
    if (body === undefined) throw new Error(`no interface ${interfaceName} in the SDK's text-to-image.d.ts`);
    const properties = propertiesOf(body);
    const id = literalsOf(properties.get('model')?.type ?? '')[0];
    if (id === undefined) throw new Error(`interface ${interfaceName} names no model`);
    const namespace = new RegExp(`\\n {4}namespace ${interfaceName} \\{\\n([\\s\\S]*?)\\n {4}\\}\\n`).exec(text)?.[1] ?? '';
    const reference = /interface ReferenceImage \{\n([\s\S]*?)\n {8}\}/.exec(namespace)?.[1] ?? '';
    // The namespace's members are indented 4 more than an interface's: shift them to reuse the parser.
    const referenceProperties = propertiesOf(reference.replace(/^ {4}/gm, ''));
    return { id, interfaceName, properties, referenceProperties };
  });
  return { union, models };
}
