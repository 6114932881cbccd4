/**
 * A seeded, deterministic generator of a small online shop in Postgres: the source database of
 * the demo (`npm run demo`) and of the benchmarks.
 *
 * The same seed and size always give byte-identical tables: every random choice comes from a
 * seeded PRNG and every timestamp is placed relative to a fixed anchor (SHOP_ANCHOR), never to the
 * wall clock. Only mutateShop stamps rows with the server's clock, so that changed rows sort after
 * everything seeded.
 */
import pg from 'pg';
import { mulberry32 } from '../../common/seeded-random.js';

export interface ShopSize {
  customers: number;
  products: number;
  orders: number;
  /** Average lines per order; each order gets between 1 and 2 × this − 1 lines. */
  linesPerOrder: number;
}

/** About 340k rows in all (≈240k of them order lines). */
export const DEFAULT_SHOP_SIZE: Readonly<ShopSize> = Object.freeze({
  customers: 20_000,
  products: 2_000,
  orders: 80_000,
  linesPerOrder: 3,
});

export const SHOP_TABLES = ['customers', 'products', 'orders', 'order_lines'] as const;
export type ShopTable = (typeof SHOP_TABLES)[number];

export const SHOP_PRIMARY_KEYS: Readonly<Record<ShopTable, readonly string[]>> = Object.freeze({
  customers: ['customer_id'],
  products: ['product_id'],
  orders: ['order_id'],
  order_lines: ['order_id', 'line_no'],
});

/** Every shop table has this column; it never goes down and is what incremental syncs follow. */
export const SHOP_CURSOR_COLUMN = 'updated_at';

/**
 * Seeded history spans the two years before this instant. It is fixed (not "now") so that a seed
 * is reproducible, and in the past so that mutateShop's clock timestamps land after all of it.
 */
export const SHOP_ANCHOR = new Date('2025-01-01T00:00:00Z');

/**
 * Order ids start above 2^31 so that they only fit a 64-bit integer: a sync that maps bigint to a
 * 32-bit type fails loudly on the demo data instead of on a customer's.
 */
export const FIRST_ORDER_ID = 5_000_000_001;

export const DEFAULT_SHOP_SEED = 42;

/** The SQL an order's total equals: the sum of its lines, each rounded to cents. */
export const ORDER_LINE_AMOUNT_SQL = 'round(quantity * unit_price * (1 - discount), 2)';

export interface SeedShopOptions {
  schema?: string;
  size?: Partial<ShopSize>;
  seed?: number;
}

export interface MutateShopOptions {
  schema?: string;
  seed?: number;
  /** Rows to update, a third of them customers (new city) and the rest orders (next status). Default 1,500. */
  updates?: number;
  /** New orders to insert, each with its lines. Default 200. */
  inserts?: number;
}

export interface MutateShopResult {
  updated: Record<string, number>;
  inserted: Record<string, number>;
}

type Queryable = pg.Client | pg.Pool | pg.PoolClient;

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/**
 * A separate stream per table, so that changing one table's size does not reshuffle the others
 * (FNV-1a of the label, mixed with the seed).
 */
function streamSeed(seed: number, label: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

class Random {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** Uniform in [0, 1) with 32 bits. */
  float(): number {
    return this.next();
  }

  /** Uniform in [0, 1) with 53 bits: microsecond timestamps over years need more than 32. */
  float53(): number {
    return (Math.floor(this.next() * 2 ** 26) * 2 ** 27 + Math.floor(this.next() * 2 ** 27)) / 2 ** 53;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float53() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return itemAt(items, Math.floor(this.next() * items.length));
  }

  /** Index in [0, count), biased towards 0: popular products, loyal (early) customers. */
  skewedIndex(count: number, skew: number): number {
    return Math.min(count - 1, Math.floor(count * Math.pow(this.next(), skew)));
  }

  weighted<T>(choices: readonly { weight: number; value: T }[]): T {
    const total = choices.reduce((sum, choice) => sum + choice.weight, 0);
    let remaining = this.next() * total;
    for (const choice of choices) {
      remaining -= choice.weight;
      if (remaining < 0) return choice.value;
    }
    return itemAt(choices, choices.length - 1).value;
  }

  /** `count` distinct indexes of [0, size), in random order (partial Fisher–Yates). */
  sampleIndexes(size: number, count: number): number[] {
    const indexes = Array.from({ length: size }, (_, i) => i);
    const take = Math.min(count, size);
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(this.next() * (size - i));
      const swapped = itemAt(indexes, j);
      indexes[j] = itemAt(indexes, i);
      indexes[i] = swapped;
    }
    return indexes.slice(0, take);
  }
}

function itemAt<T>(items: readonly T[], index: number): T {
  if (index < 0 || index >= items.length) throw new RangeError(`index ${index} outside 0..${items.length - 1}`);
  return items[index] as T;
}

// ---------------------------------------------------------------------------------------------
// Reference data: where customers live, what the shop sells
// ---------------------------------------------------------------------------------------------

type Currency = 'EUR' | 'USD' | 'GBP';

/** Product list prices are in EUR; an order's lines are priced in its currency at these rates. */
const EUR_TO: Record<Currency, number> = { EUR: 1, USD: 1.08, GBP: 0.86 };

interface CountryProfile {
  code: string;
  weight: number;
  currency: Currency;
  cities: readonly string[];
  firstNames: readonly string[];
  lastNames: readonly string[];
  /** Written family name first, without a space (Japanese). */
  familyFirst?: boolean;
}

const COUNTRIES: readonly CountryProfile[] = [
  {
    code: 'US',
    weight: 25,
    currency: 'USD',
    cities: ['New York', 'Los Angeles', 'Chicago', 'Austin', 'Seattle', 'Española'],
    firstNames: ['Emma', 'Liam', 'Olivia', 'Noah', 'Zoë', 'José', 'Chloé', 'Mia', 'Ethan', 'Renée'],
    lastNames: ['Smith', 'Johnson', 'García', 'Nguyễn', "O'Brien", 'Brontë', 'Williams', 'Miller', 'Davis'],
  },
  {
    code: 'GB',
    weight: 12,
    currency: 'GBP',
    cities: ['London', 'Manchester', 'Edinburgh', 'Bristol', 'Cardiff'],
    firstNames: ['Zoë', 'Oliver', 'Amelia', 'Siân', 'Niamh', 'Harry', 'Seán', 'Isla'],
    lastNames: ['Brontë', "O'Connor", 'Smith', 'Jones', 'Taylor', 'Ó Súilleabháin', 'Evans'],
  },
  {
    code: 'DE',
    weight: 12,
    currency: 'EUR',
    cities: ['München', 'Köln', 'Düsseldorf', 'Berlin', 'Nürnberg', 'Lübeck'],
    firstNames: ['Jürgen', 'Lena', 'Björn', 'Anneliese', 'Jörg', 'Mia', 'Lukas', 'Käthe'],
    lastNames: ['Müller', 'Schäfer', 'Groß', 'Weiß', 'Köhler', 'Schmidt', 'Meyer'],
  },
  {
    code: 'FR',
    weight: 10,
    currency: 'EUR',
    cities: ['Paris', 'Besançon', 'Orléans', 'Nîmes', 'Lyon', 'Saint-Étienne'],
    firstNames: ['Chloé', 'Françoise', 'Hélène', 'Jérôme', 'Loïc', 'Léa', 'Gaëlle', 'Noël'],
    lastNames: ['Lefèvre', 'Dubois', 'Bézier', 'Rousseau', 'Girard', "D'Aubigné", 'Martin'],
  },
  {
    code: 'BR',
    weight: 9,
    currency: 'USD',
    cities: ['São Paulo', 'Rio de Janeiro', 'Belo Horizonte', 'Florianópolis', 'Brasília', 'Goiânia'],
    firstNames: ['João', 'Luíza', 'Gonçalo', 'Beatriz', 'Antônio', 'Ana', 'Thiago', 'Conceição'],
    lastNames: ['Silva', 'Conceição', 'Gonçalves', 'Araújo', 'Sá', 'Assunção', 'Souza'],
  },
  {
    code: 'ES',
    weight: 7,
    currency: 'EUR',
    cities: ['Málaga', 'A Coruña', 'Córdoba', 'Madrid', 'Cádiz', 'Logroño'],
    firstNames: ['José', 'María', 'Iñigo', 'Begoña', 'Inés', 'Álvaro', 'Lucía'],
    lastNames: ['Muñoz', 'Núñez', 'Ibáñez', 'García', 'Peña', 'Fernández', 'Castaño'],
  },
  {
    code: 'PL',
    weight: 6,
    currency: 'EUR',
    cities: ['Łódź', 'Kraków', 'Gdańsk', 'Wrocław', 'Poznań', 'Warszawa'],
    firstNames: ['Łukasz', 'Małgorzata', 'Paweł', 'Zofia', 'Michał', 'Grażyna', 'Wojciech'],
    lastNames: ['Wałęsa', 'Żółkiewski', 'Kowalski', 'Nowak', 'Wiśniewska', 'Szczęsny', 'Dąbrowska'],
  },
  {
    code: 'SE',
    weight: 5,
    currency: 'EUR',
    cities: ['Göteborg', 'Malmö', 'Stockholm', 'Västerås', 'Linköping', 'Umeå'],
    firstNames: ['Åsa', 'Björn', 'Märta', 'Oskar', 'Ingrid', 'Göran', 'Saga'],
    lastNames: ['Ångström', 'Lindqvist', 'Sjöberg', 'Öberg', 'Nyström', 'Åkesson'],
  },
  {
    code: 'JP',
    weight: 7,
    currency: 'USD',
    familyFirst: true,
    cities: ['東京', '大阪', '京都', '札幌', '福岡', '横浜'],
    firstNames: ['太郎', '花子', '翔太', '陽菜', '蓮', '美咲', '大輔'],
    lastNames: ['山田', '佐藤', '鈴木', '高橋', '田中', '渡辺', '伊藤'],
  },
  {
    code: 'VN',
    weight: 3,
    currency: 'USD',
    cities: ['Hà Nội', 'Thành phố Hồ Chí Minh', 'Đà Nẵng', 'Huế', 'Hải Phòng'],
    firstNames: ['Thảo', 'Minh', 'Hương', 'Đức', 'Phương', 'Quân'],
    lastNames: ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Võ'],
  },
  {
    code: 'TR',
    weight: 4,
    currency: 'EUR',
    cities: ['İstanbul', 'İzmir', 'Ankara', 'Eskişehir', 'Muğla'],
    firstNames: ['Ayşe', 'Çağla', 'Oğuz', 'İlkay', 'Şükrü', 'Gülşen', 'Barış'],
    lastNames: ['Yılmaz', 'Öztürk', 'Çelik', 'Şahin', 'Doğan', 'Kılıç'],
  },
];

const COUNTRY_BY_CODE = new Map(COUNTRIES.map((country) => [country.code, country]));
const COUNTRY_CHOICES = COUNTRIES.map((country) => ({ weight: country.weight, value: country }));

/** The first customers are fixed, so that even a tiny shop shows the awkward characters. */
const SHOWCASE_CUSTOMERS: readonly { fullName: string; country: string; city: string }[] = [
  { fullName: 'Zoë Brontë', country: 'GB', city: 'London' },
  { fullName: 'João Conceição', country: 'BR', city: 'São Paulo' },
  { fullName: 'Łukasz Żółkiewski', country: 'PL', city: 'Łódź' },
  { fullName: '山田花子', country: 'JP', city: '東京' },
];

interface CategoryProfile {
  name: string;
  skuPrefix: string;
  /** List price range in EUR cents. */
  minCents: number;
  maxCents: number;
  /** Shipping weight range in kg; digital goods have none (NULL). */
  weightKg: readonly [number, number] | null;
  nouns: readonly string[];
}

const CATEGORIES: readonly CategoryProfile[] = [
  {
    name: 'Kitchen',
    skuPrefix: 'KIT',
    minCents: 499,
    maxCents: 24_999,
    weightKg: [0.1, 6],
    nouns: ['Crème brûlée torch', 'Café au lait bowl', 'Moka pot', 'Smørrebrød board', 'Wok 中華鍋', 'Chef’s knife', 'Pasta maker'],
  },
  {
    name: 'Grocery',
    skuPrefix: 'GRO',
    minCents: 199,
    maxCents: 3_999,
    weightKg: [0.05, 2],
    nouns: ['Jalapeño salsa', 'Matcha 抹茶 tin', 'Dulce de leche', 'Açaí powder', 'Pâté de campagne', 'Earl Grey tea', 'Rooibos'],
  },
  {
    name: 'Books',
    skuPrefix: 'BOO',
    minCents: 799,
    maxCents: 5_999,
    weightKg: [0.15, 1.8],
    nouns: [
      'Les Misérables',
      'Cien años de soledad',
      'Der Zauberberg',
      'ノルウェイの森',
      'Pan Tadeusz',
      'Wuthering Heights',
      'Dom Casmurro',
    ],
  },
  {
    name: 'Garden',
    skuPrefix: 'GAR',
    minCents: 299,
    maxCents: 39_999,
    weightKg: [0.2, 25],
    nouns: ['Trowel', 'Hose reel', 'Bonsai 盆栽 kit', 'Raised bed', 'Bird feeder', 'Pruning shears'],
  },
  {
    name: 'Toys',
    skuPrefix: 'TOY',
    minCents: 499,
    maxCents: 12_999,
    weightKg: [0.05, 4],
    nouns: ['Piñata', "Rubik's cube", 'Jigsaw, 1000 pcs', 'Wooden train', 'Kendama けん玉', 'Kite'],
  },
  {
    name: 'Apparel',
    skuPrefix: 'APP',
    minCents: 999,
    maxCents: 19_999,
    weightKg: [0.1, 1.5],
    nouns: ['Merino beanie', 'Façade print tee', 'Über-warm socks', 'Rain jacket', 'Linen shirt', 'Scarf'],
  },
  {
    name: 'Electronics',
    skuPrefix: 'ELE',
    minCents: 999,
    maxCents: 99_999,
    weightKg: [0.02, 8],
    nouns: ['USB-C cable 2 m', 'Bluetooth speaker', 'E-reader', 'Headphones', 'Power bank 20 000 mAh', 'Webcam'],
  },
  {
    name: 'Digital',
    skuPrefix: 'DIG',
    minCents: 500,
    maxCents: 10_000,
    weightKg: null,
    nouns: ['Gift card €25', 'E-book bundle', 'Streaming voucher', 'Recipe course', 'Sticker pack ✨'],
  },
];

const PRODUCT_ADJECTIVES = ['Classic', 'Deluxe', 'Mini', 'Eco', 'Pro', 'Vintage', 'Nordic', 'Édition limitée', 'Artisan', 'Everyday'];
const COLORS = ['black', 'white', 'red', 'sage green', 'navy', 'beige', 'bordeaux', 'turquoise'];
const SIZES = ['XS', 'S', 'M', 'L', 'XL'];
const TAGS = ['bestseller', 'new', 'gift', 'eco', 'sale', 'handmade', 'fragile'];
const MADE_IN = ['日本', 'Česko', 'Deutschland', 'España', 'Portugal', 'Việt Nam', 'Türkiye', 'Polska', 'USA'];

/**
 * Order notes: mostly none, and the few there are carry what breaks naive exporters: quotes,
 * a backslash, a tab, newlines, emoji outside the BMP, CJK, and an empty (not NULL) string.
 */
const ORDER_NOTES = [
  'Please leave at the door 🚪',
  'Gift wrap please 🎁',
  'Fragile — handle with care',
  'Livraison après 18h, merci !',
  '置き配希望',
  'He said "ring twice", then wait',
  'Building B\nFloor 3\nAsk for Zoë',
  'Path: C:\\Users\\shop',
  'Tab\tseparated\tnote',
  'Happy birthday! 🎂🥳',
  "Don't call, text instead",
  '',
];

const DISCOUNTS_TEN_THOUSANDTHS = [500, 1000, 1500, 2000, 2500, 3333];

// ---------------------------------------------------------------------------------------------
// Value formatting: everything travels to Postgres as text and is cast there
// ---------------------------------------------------------------------------------------------

const MICROS_PER_MINUTE = 60_000_000;
const MICROS_PER_HOUR = 60 * MICROS_PER_MINUTE;
const MICROS_PER_DAY = 24 * MICROS_PER_HOUR;

/** `YYYY-MM-DD HH:MM:SS.ffffff+00`: JS dates stop at milliseconds, the last three digits are ours. */
function timestampText(epochMicros: number): string {
  const epochMillis = Math.floor(epochMicros / 1000);
  const iso = new Date(epochMillis).toISOString();
  const extraMicros = String(epochMicros - epochMillis * 1000).padStart(3, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}${extraMicros}+00`;
}

function utcDateText(epochMicros: number): string {
  return new Date(Math.floor(epochMicros / 1000)).toISOString().slice(0, 10);
}

/** Exact decimal text of a non-negative integer amount of 1/10^scale units (prices, discounts). */
function fixedText(units: number, scale: number): string {
  const divisor = 10 ** scale;
  return `${Math.floor(units / divisor)}.${String(units % divisor).padStart(scale, '0')}`;
}

/** What ORDER_LINE_AMOUNT_SQL computes, in integer cents (Postgres rounds half away from zero). */
function lineAmountCents(quantity: number, unitCents: number, discountTenThousandths: number): number {
  return Math.floor((quantity * unitCents * (10_000 - discountTenThousandths) + 5_000) / 10_000);
}

function asciiSlug(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/ł/g, 'l')
    .replace(/Ł/g, 'L')
    .replace(/ø/g, 'o')
    .replace(/ß/g, 'ss')
    .replace(/đ/g, 'd')
    .replace(/Đ/g, 'D')
    .replace(/ı/g, 'i')
    .replace(/æ/g, 'ae')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '');
}

// ---------------------------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------------------------

/** One column of a bulk insert: its values travel as one array parameter cast to `sqlType[]`. */
interface ColumnData {
  name: string;
  sqlType: string;
  values: unknown[];
}

interface GeneratedCustomers {
  columns: ColumnData[];
  signedUpMicros: number[];
  currencies: Currency[];
}

function generateCustomers(random: Random, count: number, anchorMicros: number): GeneratedCustomers {
  // Ids follow sign-up order, as a serial column would.
  const signedUpMicros = Array.from({ length: count }, () =>
    random.int(anchorMicros - 730 * MICROS_PER_DAY, anchorMicros - MICROS_PER_HOUR),
  ).sort((a, b) => a - b);

  const ids: number[] = [];
  const emails: string[] = [];
  const fullNames: (string | null)[] = [];
  const countries: string[] = [];
  const cities: (string | null)[] = [];
  const signedUpAt: string[] = [];
  const marketingOptIn: (boolean | null)[] = [];
  const updatedAt: string[] = [];
  const currencies: Currency[] = [];

  for (let i = 0; i < count; i++) {
    const customerId = i + 1;
    let country = random.weighted(COUNTRY_CHOICES);
    const first = random.pick(country.firstNames);
    const last = random.pick(country.lastNames);
    let fullName: string | null = country.familyFirst ? `${last}${first}` : `${first} ${last}`;
    let city: string | null = random.pick(country.cities);

    const showcase = SHOWCASE_CUSTOMERS[i];
    if (showcase !== undefined) {
      country = COUNTRY_BY_CODE.get(showcase.country) ?? country;
      fullName = showcase.fullName;
      city = showcase.city;
    } else {
      if (random.chance(0.02)) city = null; // never filled in the address form
      if (random.chance(0.005)) fullName = null; // guest checkout
    }

    const slug = fullName === null ? '' : asciiSlug(fullName);
    const signedUp = itemAt(signedUpMicros, i);
    // Half the customers edited their profile at some point after signing up.
    const updated = random.chance(0.5) ? random.int(signedUp, anchorMicros) : signedUp;

    ids.push(customerId);
    emails.push(`${slug === '' ? 'customer' : slug}.${customerId}@example.com`);
    fullNames.push(fullName);
    countries.push(country.code);
    cities.push(city);
    signedUpAt.push(timestampText(signedUp));
    marketingOptIn.push(random.chance(0.05) ? null : random.chance(0.35));
    updatedAt.push(timestampText(updated));
    currencies.push(country.currency);
  }

  return {
    columns: [
      { name: 'customer_id', sqlType: 'int', values: ids },
      { name: 'email', sqlType: 'text', values: emails },
      { name: 'full_name', sqlType: 'text', values: fullNames },
      { name: 'country', sqlType: 'char(2)', values: countries },
      { name: 'city', sqlType: 'text', values: cities },
      { name: 'signed_up_at', sqlType: 'timestamptz', values: signedUpAt },
      { name: 'marketing_opt_in', sqlType: 'boolean', values: marketingOptIn },
      { name: 'updated_at', sqlType: 'timestamptz', values: updatedAt },
    ],
    signedUpMicros,
    currencies,
  };
}

interface GeneratedProducts {
  columns: ColumnData[];
  listCents: number[];
}

function generateProducts(random: Random, count: number, anchorMicros: number): GeneratedProducts {
  const ids: number[] = [];
  const skus: string[] = [];
  const names: string[] = [];
  const categories: string[] = [];
  const unitPrices: string[] = [];
  const weights: (number | null)[] = [];
  const actives: boolean[] = [];
  const attributes: (string | null)[] = [];
  const updatedAt: string[] = [];
  const listCents: number[] = [];

  for (let i = 0; i < count; i++) {
    const productId = i + 1;
    const category = random.pick(CATEGORIES);
    // Log-uniform prices ending in .99 or .49, like a real price list.
    const rawCents = Math.exp(Math.log(category.minCents) + random.float() * Math.log(category.maxCents / category.minCents));
    const cents = Math.max(99, Math.floor(rawCents / 100) * 100 + (random.chance(0.7) ? 99 : 49));
    const weight =
      category.weightKg === null
        ? null
        : Math.round((category.weightKg[0] + random.float() * (category.weightKg[1] - category.weightKg[0])) * 1000) / 1000;

    let attributesJson: string | null = null;
    if (!random.chance(0.1)) {
      const attributeObject: Record<string, unknown> = {};
      if (!random.chance(0.05)) {
        attributeObject.color = random.pick(COLORS);
        attributeObject.tags = TAGS.filter(() => random.chance(0.2));
        if (category.name === 'Apparel') attributeObject.sizes = SIZES.filter(() => random.chance(0.6));
        if (category.weightKg !== null) {
          attributeObject.dimensions_cm = { l: random.int(5, 80), w: random.int(5, 60), h: random.int(1, 40) };
          attributeObject.made_in = random.pick(MADE_IN);
        }
        if (category.name === 'Books')
          attributeObject.isbn13 = `978${String(random.int(0, 999_999_999)).padStart(9, '0')}${random.int(0, 9)}`;
        if (category.name === 'Grocery') attributeObject.organic = random.chance(0.3);
        if (random.chance(0.1)) attributeObject.rating = Math.round((2.5 + random.float() * 2.5) * 10) / 10;
      } // else an empty object: "no attributes" spelled differently from NULL
      attributesJson = JSON.stringify(attributeObject);
    }

    ids.push(productId);
    skus.push(`${category.skuPrefix}-${String(productId).padStart(6, '0')}-${random.int(10, 99)}`);
    names.push(`${random.pick(PRODUCT_ADJECTIVES)} ${random.pick(category.nouns)}`);
    categories.push(category.name);
    unitPrices.push(fixedText(cents, 2));
    weights.push(weight);
    actives.push(!random.chance(0.08));
    attributes.push(attributesJson);
    updatedAt.push(timestampText(random.int(anchorMicros - 730 * MICROS_PER_DAY, anchorMicros)));
    listCents.push(cents);
  }

  return {
    columns: [
      { name: 'product_id', sqlType: 'int', values: ids },
      { name: 'sku', sqlType: 'varchar(32)', values: skus },
      { name: 'name', sqlType: 'text', values: names },
      { name: 'category', sqlType: 'text', values: categories },
      { name: 'unit_price', sqlType: 'numeric(10,2)', values: unitPrices },
      { name: 'weight_kg', sqlType: 'real', values: weights },
      { name: 'active', sqlType: 'boolean', values: actives },
      { name: 'attributes', sqlType: 'jsonb', values: attributes },
      { name: 'updated_at', sqlType: 'timestamptz', values: updatedAt },
    ],
    listCents,
  };
}

type OrderStatus = 'pending' | 'paid' | 'shipped' | 'delivered' | 'cancelled' | 'refunded';

interface OrderLifecycle {
  status: OrderStatus;
  shippedMicros: number | null;
  updatedMicros: number;
}

/** Walks an order through its life and stops at the anchor: old orders are done, recent ones are not. */
function orderLifecycle(random: Random, orderedMicros: number, anchorMicros: number): OrderLifecycle {
  const fate = random.float();
  if (fate < 0.01) return { status: 'pending', shippedMicros: null, updatedMicros: orderedMicros }; // abandoned
  if (fate < 0.05) {
    const cancelledAt = orderedMicros + random.int(5 * MICROS_PER_MINUTE, 2 * MICROS_PER_DAY);
    return cancelledAt <= anchorMicros
      ? { status: 'cancelled', shippedMicros: null, updatedMicros: cancelledAt }
      : { status: 'pending', shippedMicros: null, updatedMicros: orderedMicros };
  }
  const paidAt = orderedMicros + random.int(10_000_000, 30 * MICROS_PER_MINUTE);
  const shippedAt = paidAt + random.int(6 * MICROS_PER_HOUR, 4 * MICROS_PER_DAY);
  const deliveredAt = shippedAt + random.int(MICROS_PER_DAY, 6 * MICROS_PER_DAY);
  const refundedAt = random.chance(0.03) ? deliveredAt + random.int(2 * MICROS_PER_DAY, 20 * MICROS_PER_DAY) : null;

  if (paidAt > anchorMicros) return { status: 'pending', shippedMicros: null, updatedMicros: orderedMicros };
  if (shippedAt > anchorMicros) return { status: 'paid', shippedMicros: null, updatedMicros: paidAt };
  if (deliveredAt > anchorMicros) return { status: 'shipped', shippedMicros: shippedAt, updatedMicros: shippedAt };
  if (refundedAt === null || refundedAt > anchorMicros) {
    return { status: 'delivered', shippedMicros: shippedAt, updatedMicros: deliveredAt };
  }
  return { status: 'refunded', shippedMicros: shippedAt, updatedMicros: refundedAt };
}

/** Lines of one order; shared by the seed and by the orders mutateShop inserts. */
interface OrderLine {
  productId: number;
  quantity: number;
  unitCents: number;
  discountTenThousandths: number;
}

function generateOrderLines(
  random: Random,
  linesPerOrder: number,
  listCents: readonly number[],
  productIds: readonly number[],
  currency: Currency,
): OrderLine[] {
  const lineCount = Math.min(productIds.length, 1 + Math.floor(random.float() * Math.max(1, 2 * linesPerOrder - 1)));
  const chosenProducts = new Set<number>();
  const lines: OrderLine[] = [];
  while (lines.length < lineCount) {
    const productIndex = random.skewedIndex(productIds.length, 1.8);
    if (chosenProducts.has(productIndex)) continue;
    chosenProducts.add(productIndex);
    // Mostly today's list price; sometimes an older or promotional one.
    const drift = random.chance(0.15) ? 0.9 + random.float() * 0.2 : 1;
    const quantity = random.chance(0.7) ? 1 : random.chance(0.6) ? 2 : random.int(3, 12);
    lines.push({
      productId: itemAt(productIds, productIndex),
      quantity,
      unitCents: Math.max(1, Math.round(itemAt(listCents, productIndex) * EUR_TO[currency] * drift)),
      discountTenThousandths: random.chance(0.8) ? 0 : random.pick(DISCOUNTS_TEN_THOUSANDTHS),
    });
  }
  return lines;
}

function orderTotalCents(lines: readonly OrderLine[]): number {
  return lines.reduce((sum, line) => sum + lineAmountCents(line.quantity, line.unitCents, line.discountTenThousandths), 0);
}

interface GeneratedOrders {
  orders: ColumnData[];
  lines: ColumnData[];
}

function generateOrders(
  random: Random,
  size: ShopSize,
  customers: GeneratedCustomers,
  products: GeneratedProducts,
  anchorMicros: number,
): GeneratedOrders {
  const customerCount = customers.signedUpMicros.length;
  const productIds = products.listCents.map((_, i) => i + 1);

  // Place the orders in time first, then number them in that order, as a sequence would.
  const placed = Array.from({ length: size.orders }, () => {
    // Early customers are the loyal ones and order more.
    const customerIndex = random.skewedIndex(customerCount, 1.6);
    const signedUp = itemAt(customers.signedUpMicros, customerIndex);
    return { customerIndex, orderedMicros: random.int(signedUp, anchorMicros - MICROS_PER_MINUTE) };
  }).sort((a, b) => a.orderedMicros - b.orderedMicros || a.customerIndex - b.customerIndex);

  const orderIds: number[] = [];
  const customerIds: number[] = [];
  const statuses: string[] = [];
  const orderedAt: string[] = [];
  const shippedOn: (string | null)[] = [];
  const totals: string[] = [];
  const currencies: string[] = [];
  const notes: (string | null)[] = [];
  const orderUpdatedAt: string[] = [];

  const lineOrderIds: number[] = [];
  const lineNumbers: number[] = [];
  const lineProductIds: number[] = [];
  const quantities: number[] = [];
  const unitPrices: string[] = [];
  const discounts: string[] = [];
  const lineUpdatedAt: string[] = [];

  placed.forEach(({ customerIndex, orderedMicros }, i) => {
    const orderId = FIRST_ORDER_ID + i;
    const currency = itemAt(customers.currencies, customerIndex);
    const lifecycle = orderLifecycle(random, orderedMicros, anchorMicros);
    const lines = generateOrderLines(random, size.linesPerOrder, products.listCents, productIds, currency);
    // The first order always has an emoji note, so that even a tiny shop has one.
    const note = i === 0 ? 'Birthday present 🎁, please hide the price' : random.chance(0.08) ? random.pick(ORDER_NOTES) : null;
    const orderedText = timestampText(orderedMicros);

    orderIds.push(orderId);
    customerIds.push(customerIndex + 1);
    statuses.push(lifecycle.status);
    orderedAt.push(orderedText);
    shippedOn.push(lifecycle.shippedMicros === null ? null : utcDateText(lifecycle.shippedMicros));
    totals.push(fixedText(orderTotalCents(lines), 2));
    currencies.push(currency);
    notes.push(note);
    orderUpdatedAt.push(timestampText(lifecycle.updatedMicros));

    lines.forEach((line, lineIndex) => {
      lineOrderIds.push(orderId);
      lineNumbers.push(lineIndex + 1);
      lineProductIds.push(line.productId);
      quantities.push(line.quantity);
      unitPrices.push(fixedText(line.unitCents, 2));
      discounts.push(fixedText(line.discountTenThousandths, 4));
      lineUpdatedAt.push(orderedText); // lines are written when the order is placed and never change
    });
  });

  return {
    orders: [
      { name: 'order_id', sqlType: 'bigint', values: orderIds },
      { name: 'customer_id', sqlType: 'int', values: customerIds },
      { name: 'status', sqlType: 'text', values: statuses },
      { name: 'ordered_at', sqlType: 'timestamptz', values: orderedAt },
      { name: 'shipped_on', sqlType: 'date', values: shippedOn },
      { name: 'total', sqlType: 'numeric(12,2)', values: totals },
      { name: 'currency', sqlType: 'char(3)', values: currencies },
      { name: 'note', sqlType: 'text', values: notes },
      { name: 'updated_at', sqlType: 'timestamptz', values: orderUpdatedAt },
    ],
    lines: [
      { name: 'order_id', sqlType: 'bigint', values: lineOrderIds },
      { name: 'line_no', sqlType: 'smallint', values: lineNumbers },
      { name: 'product_id', sqlType: 'int', values: lineProductIds },
      { name: 'quantity', sqlType: 'int', values: quantities },
      { name: 'unit_price', sqlType: 'numeric(10,2)', values: unitPrices },
      { name: 'discount', sqlType: 'numeric(5,4)', values: discounts },
      { name: 'updated_at', sqlType: 'timestamptz', values: lineUpdatedAt },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Postgres
// ---------------------------------------------------------------------------------------------

function isPool(db: Queryable): db is pg.Pool {
  // Duck-typed rather than instanceof, in case the caller's pg is another copy of the module.
  return typeof (db as Partial<pg.Pool>).totalCount === 'number';
}

/** Runs `work` in one transaction on one connection (a pool's statements could otherwise spread). */
async function inTransaction<T>(db: Queryable, work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  const client = isPool(db) ? await db.connect() : db;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } finally {
    if (isPool(db)) (client as pg.PoolClient).release();
  }
}

function quoteSchema(schema: string): string {
  if (schema.length === 0 || schema.length > 63) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  return pg.escapeIdentifier(schema);
}

/** Rows per INSERT: one array parameter per column, so the 65,535-parameter limit never applies. */
const INSERT_CHUNK_ROWS = 20_000;

async function insertColumns(client: pg.ClientBase, table: string, columns: readonly ColumnData[]): Promise<number> {
  const rowCount = columns[0]?.values.length ?? 0;
  const sql =
    `INSERT INTO ${table} (${columns.map((column) => pg.escapeIdentifier(column.name)).join(', ')}) ` +
    `SELECT * FROM unnest(${columns.map((column, i) => `$${i + 1}::${column.sqlType}[]`).join(', ')})`;
  let inserted = 0;
  for (let start = 0; start < rowCount; start += INSERT_CHUNK_ROWS) {
    const result = await client.query(
      sql,
      columns.map((column) => column.values.slice(start, start + INSERT_CHUNK_ROWS)),
    );
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}

function tableDefinitions(s: string): string[] {
  // Constraints and indexes come after the load (see constraintDefinitions): building them once is faster.
  return [
    `CREATE TABLE ${s}.customers (
      customer_id      int         NOT NULL,
      email            text        NOT NULL,
      full_name        text,
      country          char(2)     NOT NULL,
      city             text,
      signed_up_at     timestamptz NOT NULL,
      marketing_opt_in boolean,
      updated_at       timestamptz NOT NULL
    )`,
    `CREATE TABLE ${s}.products (
      product_id int           NOT NULL,
      sku        varchar(32)   NOT NULL,
      name       text          NOT NULL,
      category   text          NOT NULL,
      unit_price numeric(10,2) NOT NULL,
      weight_kg  real,
      active     boolean       NOT NULL,
      attributes jsonb,
      updated_at timestamptz   NOT NULL
    )`,
    `CREATE TABLE ${s}.orders (
      order_id    bigint        NOT NULL,
      customer_id int           NOT NULL,
      status      text          NOT NULL,
      ordered_at  timestamptz   NOT NULL,
      shipped_on  date,
      total       numeric(12,2) NOT NULL,
      currency    char(3)       NOT NULL,
      note        text,
      updated_at  timestamptz   NOT NULL
    )`,
    `CREATE TABLE ${s}.order_lines (
      order_id   bigint        NOT NULL,
      line_no    smallint      NOT NULL,
      product_id int           NOT NULL,
      quantity   int           NOT NULL,
      unit_price numeric(10,2) NOT NULL,
      discount   numeric(5,4)  NOT NULL,
      updated_at timestamptz   NOT NULL
    )`,
  ];
}

function constraintDefinitions(s: string): string[] {
  return [
    `ALTER TABLE ${s}.customers ADD PRIMARY KEY (customer_id), ADD UNIQUE (email)`,
    `ALTER TABLE ${s}.products ADD PRIMARY KEY (product_id), ADD UNIQUE (sku)`,
    `ALTER TABLE ${s}.orders ADD PRIMARY KEY (order_id),
       ADD FOREIGN KEY (customer_id) REFERENCES ${s}.customers,
       ADD CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'))`,
    `ALTER TABLE ${s}.order_lines ADD PRIMARY KEY (order_id, line_no),
       ADD FOREIGN KEY (order_id) REFERENCES ${s}.orders,
       ADD FOREIGN KEY (product_id) REFERENCES ${s}.products,
       ADD CHECK (quantity > 0)`,
    // Incremental syncs page by (updated_at, primary key).
    ...SHOP_TABLES.map((table) => `CREATE INDEX ON ${s}.${table} (updated_at, ${SHOP_PRIMARY_KEYS[table].join(', ')})`),
  ];
}

/** Drops and recreates the schema with freshly generated tables; returns the row count of each table. */
export async function seedShop(db: Queryable, opts: SeedShopOptions = {}): Promise<Record<string, number>> {
  const schema = quoteSchema(opts.schema ?? 'shop');
  const seed = opts.seed ?? DEFAULT_SHOP_SEED;
  const size: ShopSize = { ...DEFAULT_SHOP_SIZE, ...opts.size };
  for (const [name, value] of Object.entries(size)) {
    if (!Number.isFinite(value) || value < (name === 'linesPerOrder' ? 1 : 0)) throw new Error(`invalid shop size ${name}=${value}`);
  }
  if (size.orders > 0 && (size.customers < 1 || size.products < 1)) {
    throw new Error('a shop with orders needs at least one customer and one product');
  }

  const anchorMicros = SHOP_ANCHOR.getTime() * 1000;
  const customers = generateCustomers(new Random(streamSeed(seed, 'customers')), size.customers, anchorMicros);
  const products = generateProducts(new Random(streamSeed(seed, 'products')), size.products, anchorMicros);
  const orders = generateOrders(new Random(streamSeed(seed, 'orders')), size, customers, products, anchorMicros);

  const counts = await inTransaction(db, async (client) => {
    // A seed is throwaway data: no need to wait for the WAL flush at commit.
    await client.query('SET LOCAL synchronous_commit = off');
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.query(`CREATE SCHEMA ${schema}`);
    for (const ddl of tableDefinitions(schema)) await client.query(ddl);
    const inserted: Record<string, number> = {
      customers: await insertColumns(client, `${schema}.customers`, customers.columns),
      products: await insertColumns(client, `${schema}.products`, products.columns),
      orders: await insertColumns(client, `${schema}.orders`, orders.orders),
      order_lines: await insertColumns(client, `${schema}.order_lines`, orders.lines),
    };
    for (const ddl of constraintDefinitions(schema)) await client.query(ddl);
    return inserted;
  });
  // Fresh statistics, so that the first sync's queries are planned on real numbers.
  await db.query(`ANALYZE ${SHOP_TABLES.map((table) => `${schema}.${table}`).join(', ')}`);
  return counts;
}

/** Where a status goes next; cancelled and refunded orders are done. */
const NEXT_STATUS: Partial<Record<OrderStatus, OrderStatus>> = {
  pending: 'paid',
  paid: 'shipped',
  shipped: 'delivered',
  delivered: 'refunded',
};

/**
 * Changes some rows the way a live shop would, stamping each with clock_timestamp() so that it
 * sorts after everything before it: customers move to another city, orders move on one status
 * (the earliest in the pipeline first, newest first among those), and new pending orders arrive
 * with their lines. Deterministic for a given seed and database state, apart from the timestamps;
 * the current largest order id is mixed into the seed, so repeated calls touch different rows.
 */
export async function mutateShop(db: Queryable, opts: MutateShopOptions = {}): Promise<MutateShopResult> {
  const schema = quoteSchema(opts.schema ?? 'shop');
  const totalUpdates = Math.max(0, Math.floor(opts.updates ?? 1_500));
  const customerUpdates = Math.round(totalUpdates / 3);
  const orderUpdates = totalUpdates - customerUpdates;
  const orderInserts = Math.max(0, Math.floor(opts.inserts ?? 200));

  return inTransaction(db, async (client) => {
    const { rows: maxRows } = await client.query<{ max_order_id: string | null }>(
      `SELECT max(order_id)::text AS max_order_id FROM ${schema}.orders`,
    );
    const maxOrderId = maxRows[0]?.max_order_id ?? null;
    const random = new Random(streamSeed(opts.seed ?? DEFAULT_SHOP_SEED, `mutate:${maxOrderId ?? 'none'}`));

    const { rows: customerRows } = await client.query<{ customer_id: number; country: string; city: string | null }>(
      `SELECT customer_id, country, city FROM ${schema}.customers ORDER BY customer_id`,
    );

    // Customers move to another city of their country.
    const movedIds: number[] = [];
    const newCities: string[] = [];
    for (const index of random.sampleIndexes(customerRows.length, customerUpdates)) {
      const customer = itemAt(customerRows, index);
      const cities = COUNTRY_BY_CODE.get(customer.country)?.cities ?? COUNTRIES.flatMap((country) => country.cities);
      const otherCities = cities.filter((city) => city !== customer.city);
      movedIds.push(customer.customer_id);
      newCities.push(random.pick(otherCities));
    }
    const movedCustomers =
      movedIds.length === 0
        ? 0
        : ((
            await client.query(
              `UPDATE ${schema}.customers AS c SET city = u.city, updated_at = clock_timestamp()
         FROM unnest($1::int[], $2::text[]) AS u(customer_id, city)
        WHERE c.customer_id = u.customer_id AND c.city IS DISTINCT FROM u.city`,
              [movedIds, newCities],
            )
          ).rowCount ?? 0);

    // Orders move on one status, from a pool twice the size needed so that the choice stays random.
    let advancedOrders = 0;
    if (orderUpdates > 0) {
      const { rows: candidates } = await client.query<{ order_id: string; status: OrderStatus }>(
        `SELECT order_id::text AS order_id, status FROM ${schema}.orders
          WHERE status = ANY($1::text[])
          ORDER BY array_position($1::text[], status), order_id DESC
          LIMIT $2`,
        [Object.keys(NEXT_STATUS), orderUpdates * 2],
      );
      const chosen = random.sampleIndexes(candidates.length, orderUpdates).map((index) => itemAt(candidates, index));
      if (chosen.length > 0) {
        advancedOrders =
          (
            await client.query(
              `UPDATE ${schema}.orders AS o
              SET status = u.status,
                  shipped_on = CASE WHEN u.status = 'shipped' THEN (clock_timestamp() AT TIME ZONE 'UTC')::date ELSE o.shipped_on END,
                  updated_at = clock_timestamp()
             FROM unnest($1::bigint[], $2::text[]) AS u(order_id, status)
            WHERE o.order_id = u.order_id AND o.status IS DISTINCT FROM u.status`,
              [chosen.map((order) => order.order_id), chosen.map((order) => NEXT_STATUS[order.status])],
            )
          ).rowCount ?? 0;
      }
    }

    // New pending orders, with ids after the current largest.
    let insertedOrders = 0;
    let insertedLines = 0;
    if (orderInserts > 0 && customerRows.length > 0) {
      const { rows: productRows } = await client.query<{ product_id: number; list_cents: number }>(
        `SELECT product_id, (unit_price * 100)::int AS list_cents FROM ${schema}.products WHERE active ORDER BY product_id`,
      );
      if (productRows.length > 0) {
        const productIds = productRows.map((product) => product.product_id);
        const listCents = productRows.map((product) => product.list_cents);
        const firstNewId = maxOrderId === null ? BigInt(FIRST_ORDER_ID) : BigInt(maxOrderId) + 1n;
        const order = {
          ids: [] as string[],
          customerIds: [] as number[],
          totals: [] as string[],
          currencies: [] as string[],
          notes: [] as (string | null)[],
        };
        const line = {
          orderIds: [] as string[],
          lineNumbers: [] as number[],
          productIds: [] as number[],
          quantities: [] as number[],
          unitPrices: [] as string[],
          discounts: [] as string[],
        };

        for (let i = 0; i < orderInserts; i++) {
          const orderId = String(firstNewId + BigInt(i));
          const customer = itemAt(customerRows, random.skewedIndex(customerRows.length, 1.6));
          const currency = COUNTRY_BY_CODE.get(customer.country)?.currency ?? 'USD';
          const lines = generateOrderLines(random, DEFAULT_SHOP_SIZE.linesPerOrder, listCents, productIds, currency);
          order.ids.push(orderId);
          order.customerIds.push(customer.customer_id);
          order.totals.push(fixedText(orderTotalCents(lines), 2));
          order.currencies.push(currency);
          order.notes.push(random.chance(0.08) ? random.pick(ORDER_NOTES) : null);
          lines.forEach((orderLine, lineIndex) => {
            line.orderIds.push(orderId);
            line.lineNumbers.push(lineIndex + 1);
            line.productIds.push(orderLine.productId);
            line.quantities.push(orderLine.quantity);
            line.unitPrices.push(fixedText(orderLine.unitCents, 2));
            line.discounts.push(fixedText(orderLine.discountTenThousandths, 4));
          });
        }

        // The derived table evaluates clock_timestamp() once per row, so ordered_at = updated_at.
        insertedOrders =
          (
            await client.query(
              `INSERT INTO ${schema}.orders (order_id, customer_id, status, ordered_at, shipped_on, total, currency, note, updated_at)
           SELECT order_id, customer_id, 'pending', placed_at, NULL, total, currency, note, placed_at
             FROM (SELECT u.*, clock_timestamp() AS placed_at
                     FROM unnest($1::bigint[], $2::int[], $3::numeric(12,2)[], $4::char(3)[], $5::text[])
                          AS u(order_id, customer_id, total, currency, note)) AS new_orders`,
              [order.ids, order.customerIds, order.totals, order.currencies, order.notes],
            )
          ).rowCount ?? 0;
        insertedLines =
          (
            await client.query(
              `INSERT INTO ${schema}.order_lines (order_id, line_no, product_id, quantity, unit_price, discount, updated_at)
           SELECT l.order_id, l.line_no, l.product_id, l.quantity, l.unit_price, l.discount, o.updated_at
             FROM unnest($1::bigint[], $2::smallint[], $3::int[], $4::int[], $5::numeric(10,2)[], $6::numeric(5,4)[])
                  AS l(order_id, line_no, product_id, quantity, unit_price, discount)
             JOIN ${schema}.orders AS o USING (order_id)`,
              [line.orderIds, line.lineNumbers, line.productIds, line.quantities, line.unitPrices, line.discounts],
            )
          ).rowCount ?? 0;
      }
    }

    return {
      updated: { customers: movedCustomers, orders: advancedOrders },
      inserted: { orders: insertedOrders, order_lines: insertedLines },
    };
  });
}
