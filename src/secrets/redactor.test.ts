import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { text as readText } from 'node:stream/consumers';
import { test } from 'node:test';
import { decodeBase64Value, encodeBase64Value } from './base64-value.ts';
import { parseCredentials } from './credentials-file.ts';
import { RedactingFilter } from './redacting-filter.ts';
import { Redactor } from './redactor.ts';
import { looksSecret } from './secret-names.ts';

test('every occurrence of every secret is masked, the longest first where they overlap', () => {
  const redactor = new Redactor();
  assert.equal(redactor.redact('nothing to hide'), 'nothing to hide');
  assert.ok(redactor.isEmpty);
  redactor.add('abcd');
  redactor.add('abcdef');
  redactor.add('a.b*c'); // regex characters are taken literally
  assert.equal(
    redactor.redact('x abcdef y abcd z abcdabcd a.b*c axbbc'),
    'x *** y *** z ****** *** axbbc',
  );
  assert.equal(redactor.longest, 6);
});

test('values: what a worker rebuilds the same masking from, one array until another is added', () => {
  const redactor = new Redactor();
  assert.deepEqual(redactor.values, []);
  redactor.add('abcd');
  redactor.add('on'); // too short: not a value
  const values = redactor.values;
  assert.deepEqual(values, ['abcd']);
  assert.equal(redactor.values, values, 'no copy per stage');
  redactor.add('abcdef');
  assert.deepEqual(redactor.values, ['abcd', 'abcdef']);
  const copy = new Redactor();
  for (const value of redactor.values) copy.add(value);
  assert.equal(copy.redact('x abcdef abcd'), redactor.redact('x abcdef abcd'));
});

test('values shorter than the minimum are not masked', () => {
  const redactor = new Redactor();
  assert.equal(redactor.add('on'), false);
  assert.equal(redactor.add('true', 8), false);
  assert.ok(redactor.isEmpty);
  assert.equal(redactor.redact('on true'), 'on true');
});

test('redactDeep masks strings, keys included, and leaves other values', () => {
  const redactor = new Redactor();
  redactor.add('s3cr3t-value');
  assert.deepEqual(
    redactor.redactDeep({
      a: ['x s3cr3t-value', 3, true, null],
      's3cr3t-value': { b: 's3cr3t-value' },
    }),
    { a: ['x ***', 3, true, null], '***': { b: '***' } },
  );
});

test('the filter masks a secret split across chunks and lines without an end', async () => {
  const redactor = new Redactor();
  redactor.add('topsecret-42');
  const chunks = [
    'line one topsec',
    'ret-42 and\nline two: top',
    'secret-42',
    '\nend topsecret-4',
    '2',
  ];
  const out = await readText(
    Readable.from(chunks.map((c) => Buffer.from(c))).pipe(new RedactingFilter(redactor)),
  );
  assert.equal(out, 'line one *** and\nline two: ***\nend ***');
});

test('the filter passes a long line on in parts, never cutting a secret', async () => {
  const redactor = new Redactor();
  redactor.add('SECRETSECRET');
  const long = `${'x'.repeat(70_000)}SECRETSECRET${'y'.repeat(70_000)}SECRET`;
  const pieces = [];
  for (let i = 0; i < long.length; i += 4093) pieces.push(Buffer.from(long.slice(i, i + 4093)));
  const out = await readText(Readable.from(pieces).pipe(new RedactingFilter(redactor)));
  assert.equal(out, `${'x'.repeat(70_000)}***${'y'.repeat(70_000)}SECRET`);
});

test('the filter keeps multi-byte characters split across chunks whole', async () => {
  const redactor = new Redactor();
  redactor.add('pässwörd');
  const bytes = Buffer.from('é pässwörd ü\n');
  const pieces = [bytes.subarray(0, 1), bytes.subarray(1, 5), bytes.subarray(5)];
  assert.equal(
    await readText(Readable.from(pieces).pipe(new RedactingFilter(redactor))),
    'é *** ü\n',
  );
});

test('encode and decode are each other’s inverse; the seed’s example', () => {
  assert.equal(encodeBase64Value('my_secret_access_key'), 'base64://bXlfc2VjcmV0X2FjY2Vzc19rZXk=');
  for (const text of ['a', 'ünï cødé ✓', 'line\nbreak', '$(touch pwned)']) {
    assert.equal(decodeBase64Value(encodeBase64Value(text)), text);
  }
  assert.equal(decodeBase64Value('base64://aGk'), 'hi', 'padding is optional');
  assert.equal(decodeBase64Value('base64://Pj4-'), '>>>', 'URL-safe Base64 too');
});

test('a payload that is not Base64 or not UTF-8 is refused, never decoded to something else', () => {
  assert.throws(() => decodeBase64Value('base64://'), /nothing after base64:\/\//);
  assert.throws(() => decodeBase64Value('base64://ab$d'), /not valid Base64/);
  assert.throws(() => decodeBase64Value('base64://a'), /not valid Base64/);
  assert.throws(() => decodeBase64Value('base64:////79'), /not UTF-8 text/);
  assert.throws(() => decodeBase64Value('plain'), /expected a value starting with base64:\/\//);
});

test('secret names: *_SECRET*, *_KEY, *PASSWORD*, *TOKEN*, in any case', () => {
  for (const name of [
    'TOS_MY_BUCKET_SECRET_KEY',
    'AWS_SECRET_ACCESS_KEY',
    'API_KEY',
    'db_password',
    'GITHUB_TOKEN',
    'tokenizer',
  ])
    assert.ok(looksSecret(name), name);
  for (const name of ['PATH', 'HOME', 'KEYBOARD', 'SECRETARY', 'ENDPOINT', 'KEY_ID'])
    assert.ok(!looksSecret(name), name);
});

test('the credentials file: KEY=VALUE, comments, export, quotes; a bad line with its position', () => {
  const text =
    '# S3\nexport A_KEY=one\nB_SECRET_KEY = "two words"\n\nC=\'three\' \nD=four # note\n';
  assert.deepEqual(parseCredentials(text, 's3_aksk.env'), {
    A_KEY: 'one',
    B_SECRET_KEY: 'two words',
    C: 'three',
    D: 'four',
  });
  assert.throws(
    () => parseCredentials('A=1\n  not a line\n', '/p/s3_aksk.env'),
    (error: Error) =>
      error.message ===
      '/p/s3_aksk.env:2:3: expected KEY=VALUE (hint: one variable per line; # starts a comment)',
  );
});
