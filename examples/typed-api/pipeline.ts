// The TypeScript API: stages receive their upstream outputs typed, by the names given in `deps`.
//   gpipe run examples/typed-api/pipeline.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { command, pipeline, stage } from '../../src/index.ts';

interface Measurement {
  city: string;
  celsius: number;
}

const readings = stage(
  'readings',
  async (): Promise<Measurement[]> => [
    { city: 'Oslo', celsius: -3.5 },
    { city: 'Lisbon', celsius: 16.2 },
    { city: 'Nairobi', celsius: 24.9 },
    { city: 'Oslo', celsius: -1.0 },
    { city: 'Lisbon', celsius: 14.8 },
  ],
);

const averages = stage('averages', { deps: { readings } }, ({ readings }) => {
  const byCity = new Map<string, number[]>();
  for (const { city, celsius } of readings)
    byCity.set(city, [...(byCity.get(city) ?? []), celsius]);
  return Object.fromEntries(
    [...byCity].map(([city, values]) => [city, values.reduce((a, b) => a + b) / values.length]),
  );
});

const extremes = stage('extremes', { deps: { readings } }, ({ readings }) => {
  const sorted = [...readings].sort((a, b) => a.celsius - b.celsius);
  return { coldest: sorted[0]!, warmest: sorted.at(-1)! };
});

const report = stage(
  'report',
  { deps: { averages, extremes } },
  ({ averages, extremes }, context) => {
    const lines = Object.entries(averages).map(([city, mean]) => `${city}: ${mean.toFixed(1)} °C`);
    lines.push(`coldest: ${extremes.coldest.city}, warmest: ${extremes.warmest.city}`);
    const file = join(context.outputRoot, 'report.txt');
    writeFileSync(file, `${lines.join('\n')}\n`);
    return { file, cities: lines.length - 1 };
  },
);

// A command stage reads upstream outputs from $GP_INPUTS_FILE and returns JSON via $GP_RESULT_FILE.
const fahrenheit = command<{ [city: string]: number }>('fahrenheit', {
  deps: { averages },
  argv: [
    'python3',
    '-c',
    'import json, os\n' +
      'averages = json.load(open(os.environ["GP_INPUTS_FILE"]))["averages"]\n' +
      'result = {city: round(c * 9 / 5 + 32, 1) for city, c in averages.items()}\n' +
      'json.dump(result, open(os.environ["GP_RESULT_FILE"], "w"))',
  ],
  timeout: '30s',
});

export default pipeline('weather', [report, fahrenheit]);
