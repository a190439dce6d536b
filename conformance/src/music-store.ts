/**
 * A sample application database of our own: a small music store (artists, albums, tracks,
 * media types, genres, playlists and their tracks, employees, customers, invoices and their
 * lines), written the way such schemas usually are — `NVARCHAR` names, prices in
 * `NUMERIC(10,2)`, dates as text in `DATETIME` columns, foreign keys between most tables, a
 * self-referencing one (an employee reports to an employee), a composite key — with seeded,
 * deterministic rows. The DDL and the data are this project's (MIT, like the rest of it).
 *
 * `NOT NULL` columns have no `DEFAULT`, as in the schemas this stands for: a replicated row that
 * lacks one of them is parked until it has a value, never shown half-written.
 */
import { prng, randInt } from "./util.js";
import type { SqlValue } from "./types.js";

/** Tables in the order an application loads them: every parent before its children. */
export const MUSIC_STORE_TABLES = [
  "artist",
  "album",
  "media_type",
  "genre",
  "track",
  "playlist",
  "playlist_track",
  "employee",
  "customer",
  "invoice",
  "invoice_line",
] as const;

export type MusicStoreTable = (typeof MUSIC_STORE_TABLES)[number];

/** The application's own schema (no replic column in it). */
export const MUSIC_STORE_DDL = `
CREATE TABLE artist (
  artist_id INTEGER PRIMARY KEY,
  name NVARCHAR(120)
);
CREATE TABLE album (
  album_id INTEGER PRIMARY KEY,
  title NVARCHAR(160) NOT NULL,
  artist_id INTEGER NOT NULL REFERENCES artist (artist_id)
);
CREATE TABLE media_type (
  media_type_id INTEGER PRIMARY KEY,
  name NVARCHAR(120)
);
CREATE TABLE genre (
  genre_id INTEGER PRIMARY KEY,
  name NVARCHAR(120)
);
CREATE TABLE track (
  track_id INTEGER PRIMARY KEY,
  name NVARCHAR(200) NOT NULL,
  album_id INTEGER REFERENCES album (album_id),
  media_type_id INTEGER NOT NULL REFERENCES media_type (media_type_id),
  genre_id INTEGER REFERENCES genre (genre_id),
  composer NVARCHAR(220),
  milliseconds INTEGER NOT NULL,
  bytes INTEGER,
  unit_price NUMERIC(10,2) NOT NULL
);
CREATE INDEX track_album ON track (album_id);
CREATE TABLE playlist (
  playlist_id INTEGER PRIMARY KEY,
  name NVARCHAR(120)
);
CREATE TABLE playlist_track (
  playlist_id INTEGER NOT NULL REFERENCES playlist (playlist_id),
  track_id INTEGER NOT NULL REFERENCES track (track_id),
  PRIMARY KEY (playlist_id, track_id)
);
CREATE TABLE employee (
  employee_id INTEGER PRIMARY KEY,
  last_name NVARCHAR(20) NOT NULL,
  first_name NVARCHAR(20) NOT NULL,
  title NVARCHAR(30),
  reports_to INTEGER REFERENCES employee (employee_id),
  birth_date DATETIME,
  hire_date DATETIME,
  city NVARCHAR(40),
  country NVARCHAR(40),
  email NVARCHAR(60),
  photo BLOB
);
CREATE TABLE customer (
  customer_id INTEGER PRIMARY KEY,
  first_name NVARCHAR(40) NOT NULL,
  last_name NVARCHAR(20) NOT NULL,
  company NVARCHAR(80),
  city NVARCHAR(40),
  country NVARCHAR(40),
  email NVARCHAR(60) NOT NULL,
  support_rep_id INTEGER REFERENCES employee (employee_id)
);
CREATE TABLE invoice (
  invoice_id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customer (customer_id),
  invoice_date DATETIME NOT NULL,
  billing_city NVARCHAR(40),
  billing_country NVARCHAR(40),
  total NUMERIC(10,2) NOT NULL
);
CREATE INDEX invoice_customer ON invoice (customer_id);
CREATE TABLE invoice_line (
  invoice_line_id INTEGER PRIMARY KEY,
  invoice_id INTEGER NOT NULL REFERENCES invoice (invoice_id),
  track_id INTEGER NOT NULL REFERENCES track (track_id),
  unit_price NUMERIC(10,2) NOT NULL,
  quantity INTEGER NOT NULL
);
`;

export interface MusicStoreSize {
  artists: number;
  albumsPerArtist: number;
  tracksPerAlbum: number;
  customers: number;
  invoices: number;
}

/** About 3,000 rows: small enough for every binding's tests, large enough for several batches. */
export const MUSIC_STORE_SIZE: MusicStoreSize = { artists: 40, albumsPerArtist: 2, tracksPerAlbum: 8, customers: 40, invoices: 240 };

const WORDS = ["Blue", "Night", "River", "Stone", "Echo", "Golden", "Silent", "Electric", "Paper", "Wild", "Glass", "Northern", "Velvet", "Salt", "Ember", "Hollow"];
const NAMES = ["Ana", "Bram", "Chloé", "Dmitri", "Eun-ji", "Farah", "Gustav", "Hélène", "Ivo", "Jomo", "Kasia", "Luís", "Mei", "Nils", "Oyelaran", "Zoë"];
const SURNAMES = ["Alves", "Brandt", "Castillo", "Dąbrowski", "Eriksen", "Fujita", "Gallagher", "Haddad", "Ibáñez", "Jovanović", "Kowalczyk", "Lindqvist", "Mbeki", "Nakamura"];
const CITIES: [string, string][] = [["Lisboa", "Portugal"], ["Kraków", "Poland"], ["São Paulo", "Brazil"], ["Montréal", "Canada"], ["Oslo", "Norway"], ["Nairobi", "Kenya"], ["Osaka", "Japan"], ["Dublin", "Ireland"]];
const MEDIA = ["MPEG audio file", "Protected AAC audio file", "Lossless audio file", "Purchased AAC audio file", "Video file"];
const GENRES = ["Rock", "Jazz", "Metal", "Alternative", "Blues", "Latin", "Reggae", "Pop", "Soundtrack", "Classical", "Electronica", "Bossa Nova"];

/** A price as an application keeps it in NUMERIC(10,2): a REAL with two decimals. */
const price = (cents: number): number => cents / 100;
const two = (n: number): string => String(n).padStart(2, "0");
/** A date as text, as applications store it in DATETIME columns. */
const date = (y: number, m: number, d: number, hh = 0, mm = 0): string => `${y}-${two(m)}-${two(d)} ${two(hh)}:${two(mm)}:00`;

/** The rows of every table in load order, from a seed (the same seed, the same rows). */
export function musicStoreRows(seed = 19, size: MusicStoreSize = MUSIC_STORE_SIZE): { table: MusicStoreTable; rows: Record<string, SqlValue>[] }[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[randInt(rand, 0, xs.length - 1)]!;
  const title = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(" ");

  const artist = Array.from({ length: size.artists }, (_, i) => ({ artist_id: i + 1, name: i % 9 === 4 ? null : `${pick(WORDS)} ${pick(SURNAMES)}${i % 5 === 0 ? " & the " + pick(WORDS) + "s" : ""}` }));
  const album: Record<string, SqlValue>[] = [];
  for (const a of artist) for (let k = 0; k < size.albumsPerArtist; k++) album.push({ album_id: album.length + 1, title: title(randInt(rand, 1, 3)), artist_id: a.artist_id });
  const media_type = MEDIA.map((name, i) => ({ media_type_id: i + 1, name }));
  const genre = GENRES.map((name, i) => ({ genre_id: i + 1, name }));
  const track: Record<string, SqlValue>[] = [];
  for (const al of album) {
    for (let k = 0; k < size.tracksPerAlbum; k++) {
      const id = track.length + 1;
      const video = rand() < 0.05;
      track.push({
        track_id: id,
        name: title(randInt(rand, 1, 4)),
        album_id: al.album_id!,
        media_type_id: video ? 5 : randInt(rand, 1, 4),
        genre_id: rand() < 0.03 ? null : randInt(rand, 1, GENRES.length),
        composer: rand() < 0.3 ? null : `${pick(NAMES)} ${pick(SURNAMES)}`,
        milliseconds: randInt(rand, 60_000, 600_000),
        // Video files can be huge: a few sizes beyond 2^53, kept exact as 64-bit integers.
        bytes: video ? 2n ** 60n + BigInt(id) : randInt(rand, 1_000_000, 15_000_000),
        unit_price: video ? price(199) : price(99),
      });
    }
  }
  const playlist = ["Music", "Favourites", "Road trip", "Focus", "Ninety's", "Quiet evenings", "Grunge", "Classical picks"].map((name, i) => ({ playlist_id: i + 1, name }));
  const playlist_track: Record<string, SqlValue>[] = [];
  for (const p of playlist) {
    const every = p.playlist_id === 1 ? 1 : randInt(rand, 3, 9);
    for (const t of track) if ((Number(t.track_id) + p.playlist_id) % every === 0) playlist_track.push({ playlist_id: p.playlist_id, track_id: t.track_id! });
  }
  const staff: { id: number; title: string; boss: number | null }[] = [
    { id: 1, title: "General Manager", boss: null },
    { id: 2, title: "Sales Manager", boss: 1 },
    { id: 3, title: "Sales Support Agent", boss: 2 },
    { id: 4, title: "Sales Support Agent", boss: 2 },
    { id: 5, title: "Sales Support Agent", boss: 2 },
    { id: 6, title: "IT Manager", boss: 1 },
    { id: 7, title: "IT Staff", boss: 6 },
    { id: 8, title: "IT Staff", boss: 6 },
  ];
  const employee: Record<string, SqlValue>[] = staff.map((e) => {
    const [city, country] = pick(CITIES);
    const first = pick(NAMES);
    const last = pick(SURNAMES);
    return {
      employee_id: e.id,
      last_name: last,
      first_name: first,
      title: e.title,
      reports_to: e.boss,
      birth_date: date(randInt(rand, 1958, 1990), randInt(rand, 1, 12), randInt(rand, 1, 28)),
      hire_date: date(randInt(rand, 2015, 2022), randInt(rand, 1, 12), randInt(rand, 1, 28)),
      city,
      country,
      email: `${first.toLowerCase()}@store.example`,
      photo: e.id % 3 === 0 ? null : new Uint8Array(Array.from({ length: 16 }, (_, i) => (i * 37 + e.id) % 256)),
    };
  });
  const customer = Array.from({ length: size.customers }, (_, i) => {
    const [city, country] = pick(CITIES);
    const first = pick(NAMES);
    return {
      customer_id: i + 1,
      first_name: first,
      last_name: pick(SURNAMES),
      company: rand() < 0.25 ? `${pick(WORDS)} ${pick(["Ltda.", "GmbH", "Inc.", "S.A."])}` : null,
      city,
      country,
      email: `${first.toLowerCase()}.${i + 1}@mail.example`,
      support_rep_id: randInt(rand, 3, 5),
    };
  });
  const invoice: Record<string, SqlValue>[] = [];
  const invoice_line: Record<string, SqlValue>[] = [];
  for (let i = 0; i < size.invoices; i++) {
    const c = customer[randInt(rand, 0, customer.length - 1)]!;
    const lines = randInt(rand, 1, 9);
    let cents = 0;
    const id = i + 1;
    for (let k = 0; k < lines; k++) {
      const t = track[randInt(rand, 0, track.length - 1)]!;
      const quantity = 1;
      cents += Math.round(Number(t.unit_price) * 100) * quantity;
      invoice_line.push({ invoice_line_id: invoice_line.length + 1, invoice_id: id, track_id: t.track_id!, unit_price: t.unit_price!, quantity });
    }
    invoice.push({
      invoice_id: id,
      customer_id: c.customer_id,
      invoice_date: date(2021 + Math.floor(i / 100), (i % 12) + 1, (i % 28) + 1, randInt(rand, 8, 20), randInt(rand, 0, 59)),
      billing_city: c.city,
      billing_country: c.country,
      total: price(cents),
    });
  }
  return [
    { table: "artist", rows: artist },
    { table: "album", rows: album },
    { table: "media_type", rows: media_type },
    { table: "genre", rows: genre },
    { table: "track", rows: track },
    { table: "playlist", rows: playlist },
    { table: "playlist_track", rows: playlist_track },
    { table: "employee", rows: employee },
    { table: "customer", rows: customer },
    { table: "invoice", rows: invoice },
    { table: "invoice_line", rows: invoice_line },
  ];
}

/** The INSERT statements of one table's rows, for a binding's own prepared statements. */
export function insertSql(table: string, row: Record<string, SqlValue>): string {
  const names = Object.keys(row);
  return `INSERT INTO "${table}" (${names.map((n) => `"${n}"`).join(", ")}) VALUES (${names.map(() => "?").join(", ")})`;
}
