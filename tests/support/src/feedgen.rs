//! Synthetic supplier feeds of any size, deterministic for a seed, built from the quirks the
//! real corpus shows: nested categories with `parentId`, several pictures, `param`s with
//! units, CDATA descriptions with markup, decimal commas, Cyrillic text, old prices, stock
//! counts. Used for streaming-memory tests and throughput benchmarks.

use std::io::{self, Write};

/// A small xorshift generator: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const NOUNS: &[&str] = &[
    "Чайник",
    "Kettle",
    "Кружка",
    "Lamp",
    "Насос",
    "Boiler",
    "Шуруп",
    "Valise",
    "Рюкзак",
    "Mixer",
];
const ADJECTIVES: &[&str] = &[
    "сталевий",
    "ceramic",
    "електричний",
    "compact",
    "садовий",
    "premium",
    "дорожній",
    "steel",
];
const BRANDS: &[&str] = &[
    "Brewmaster",
    "Tefal",
    "Grundfos",
    "Bosch",
    "Gorenje",
    "Samsonite",
    "Fischer",
];
const COLOURS: &[&str] = &["чорний", "white", "червоний", "grey", "синій"];

/// Categories: 8 roots × 6 children × 5 grandchildren, ids 1.., each with a parent.
fn categories() -> Vec<(u32, Option<u32>, String)> {
    let mut out = Vec::new();
    let mut id = 0;
    for r in 0..8 {
        id += 1;
        let root = id;
        out.push((root, None, format!("Розділ {r}")));
        for c in 0..6 {
            id += 1;
            let child = id;
            out.push((child, Some(root), format!("Category {r}.{c}")));
            for g in 0..5 {
                id += 1;
                out.push((id, Some(child), format!("Підкатегорія {r}.{c}.{g}")));
            }
        }
    }
    out
}

fn price(rng: &mut Rng, comma: bool) -> String {
    let whole = 10 + rng.below(49_990);
    let cents = rng.below(100);
    if comma {
        format!("{whole},{cents:02}")
    } else {
        format!("{whole}.{cents:02}")
    }
}

/// A YML (`yml_catalog`) feed with `offers` offers.
pub fn write_yml(mut w: impl Write, offers: usize, seed: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    let cats = categories();
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(w, r#"<yml_catalog date="2026-11-22 10:00">"#)?;
    writeln!(
        w,
        "<shop><name>Synthetic</name><company>Synthetic LLC</company><url>https://shop.example</url>"
    )?;
    writeln!(
        w,
        r#"<currencies><currency id="UAH" rate="1"/></currencies>"#
    )?;
    writeln!(w, "<categories>")?;
    for (id, parent, name) in &cats {
        match parent {
            Some(p) => writeln!(w, r#"<category id="{id}" parentId="{p}">{name}</category>"#)?,
            None => writeln!(w, r#"<category id="{id}">{name}</category>"#)?,
        }
    }
    writeln!(w, "</categories>\n<offers>")?;
    for i in 0..offers {
        let cat = cats[rng.below(cats.len() as u64) as usize].0;
        let available = if rng.below(10) == 0 { "false" } else { "true" };
        let group = if i % 7 == 0 {
            format!(r#" group_id="{}""#, i / 7)
        } else {
            String::new()
        };
        writeln!(w, r#"<offer id="{i}" available="{available}"{group}>"#)?;
        writeln!(w, "<url>https://shop.example/p/{i}</url>")?;
        writeln!(w, "<price>{}</price>", price(&mut rng, i % 5 == 0))?;
        if rng.below(3) == 0 {
            writeln!(w, "<oldprice>{}</oldprice>", price(&mut rng, false))?;
        }
        writeln!(
            w,
            "<currencyId>UAH</currencyId><categoryId>{cat}</categoryId>"
        )?;
        for p in 0..1 + rng.below(4) {
            writeln!(w, "<picture>https://img.example/{i}/{p}.jpg</picture>")?;
        }
        let (noun, adj, brand) = (rng.pick(NOUNS), rng.pick(ADJECTIVES), rng.pick(BRANDS));
        writeln!(
            w,
            "<vendor>{brand}</vendor><vendorCode>VC-{i:07}</vendorCode>"
        )?;
        writeln!(w, "<stock_quantity>{}</stock_quantity>", rng.below(500))?;
        writeln!(w, "<name>{noun} {adj} {brand} {i}</name>")?;
        writeln!(
            w,
            "<description><![CDATA[<p>{noun} {adj} від <b>{brand}</b>. Гарантія {} міс.</p><ul><li>Колір: {}</li></ul>]]></description>",
            6 + rng.below(30),
            rng.pick(COLOURS)
        )?;
        writeln!(w, r#"<param name="Колір">{}</param>"#, rng.pick(COLOURS))?;
        writeln!(
            w,
            r#"<param name="Вага" unit="кг">{}</param>"#,
            price(&mut rng, true)
        )?;
        writeln!(w, "<barcode>48{:011}</barcode>", rng.below(99_999_999_999))?;
        writeln!(w, "</offer>")?;
    }
    writeln!(w, "</offers>\n</shop>\n</yml_catalog>")
}

/// A Google Merchant RSS 2.0 feed with `items` items.
pub fn write_gmc_rss(mut w: impl Write, items: usize, seed: u64) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0"><channel>"#
    )?;
    writeln!(
        w,
        "<title>Synthetic</title><link>https://shop.example</link><description>feed</description>"
    )?;
    for i in 0..items {
        let (noun, adj, brand) = (rng.pick(NOUNS), rng.pick(ADJECTIVES), rng.pick(BRANDS));
        writeln!(w, "<item>")?;
        writeln!(w, "<g:id>{i}</g:id><g:title>{noun} {adj} {brand}</g:title>")?;
        writeln!(
            w,
            "<g:description><![CDATA[{noun} {adj} від {brand}, колір {}]]></g:description>",
            rng.pick(COLOURS)
        )?;
        writeln!(
            w,
            "<g:link>https://shop.example/p/{i}</g:link><g:image_link>https://img.example/{i}/0.jpg</g:image_link>"
        )?;
        for p in 1..1 + rng.below(3) {
            writeln!(
                w,
                "<g:additional_image_link>https://img.example/{i}/{p}.jpg</g:additional_image_link>"
            )?;
        }
        writeln!(w, "<g:price>{} UAH</g:price>", price(&mut rng, false))?;
        if rng.below(4) == 0 {
            writeln!(
                w,
                "<g:sale_price>{} UAH</g:sale_price>",
                price(&mut rng, false)
            )?;
        }
        writeln!(
            w,
            "<g:availability>{}</g:availability>",
            if rng.below(8) == 0 {
                "out of stock"
            } else {
                "in stock"
            }
        )?;
        writeln!(
            w,
            "<g:brand>{brand}</g:brand><g:gtin>48{:011}</g:gtin><g:mpn>MPN-{i}</g:mpn>",
            rng.below(99_999_999_999)
        )?;
        writeln!(
            w,
            "<g:product_type>Home &gt; Kitchen &gt; {noun}</g:product_type><g:condition>new</g:condition>"
        )?;
        writeln!(
            w,
            "<g:shipping><g:country>UA</g:country><g:price>{} UAH</g:price></g:shipping>",
            rng.below(200)
        )?;
        if i % 5 == 0 {
            writeln!(w, "<g:item_group_id>G{}</g:item_group_id>", i / 5)?;
        }
        writeln!(w, "</item>")?;
    }
    writeln!(w, "</channel></rss>")
}

/// A semicolon-separated price list with a header, decimal commas and quoted fields.
pub fn write_csv(w: impl Write, rows: usize, seed: u64) -> io::Result<()> {
    write_csv_rows(w, rows, seed, |noun, _, _| format!("Опис \"\"{noun}\"\" "))
}

/// The same columns with a long description (about 600 bytes a row): a feed of many megabytes
/// in few rows, for checking that memory follows the rows in flight, not the bytes.
pub fn write_csv_wide(w: impl Write, rows: usize, seed: u64) -> io::Result<()> {
    write_csv_rows(w, rows, seed, |noun, adj, brand| {
        format!("{noun} {adj} {brand}. ").repeat(20)
    })
}

/// The price list with `description(noun, adjective, brand)` before each row's number in the
/// quoted last column.
fn write_csv_rows(
    mut w: impl Write,
    rows: usize,
    seed: u64,
    description: impl Fn(&str, &str, &str) -> String,
) -> io::Result<()> {
    let mut rng = Rng::new(seed);
    writeln!(
        w,
        "offer_id;name;price;currency;quantity;category;brand;description"
    )?;
    for i in 0..rows {
        let (noun, adj, brand) = (rng.pick(NOUNS), rng.pick(ADJECTIVES), rng.pick(BRANDS));
        let description = description(noun, adj, brand);
        writeln!(
            w,
            "{i};\"{noun} {adj}; {brand}\";{};UAH;{};Дім/Кухня/{noun};{brand};\"{description}{i}\"",
            price(&mut rng, true),
            rng.below(300)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        write_yml(&mut a, 100, 1).expect("write");
        write_yml(&mut b, 100, 1).expect("write");
        assert_eq!(a, b);
        assert_eq!(
            String::from_utf8_lossy(&a).matches("<offer id=").count(),
            100
        );
        let mut c = Vec::new();
        write_csv(&mut c, 10, 1).expect("write");
        assert_eq!(String::from_utf8_lossy(&c).lines().count(), 11);
    }
}
