//! The format round-trips, and every damaged image is an error naming the
//! file and the cause.

use super::*;

fn meta() -> ImageMeta {
    ImageMeta {
        fingerprint: 0x1234_5678_9abc_def0,
        static_region_offset: 1 << 30,
        roots: vec![("symtab".into(), 0x41), ("toplevel".into(), 0x6)],
        primitives: vec!["car".into(), "cdr".into()],
        writer: "imp test".into(),
    }
}

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "imp-images-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

fn write_sample(path: &Path, body: &[u8]) -> WriteReport {
    let s = [SectionOut {
        kind: SectionKind::Static,
        region_offset: 1 << 30,
        bytes: body,
    }];
    write_image(path, &meta(), &s).expect("write")
}

#[test]
fn round_trip() {
    let d = dir();
    let p = d.join("a.image");
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7) as u8).collect();
    let r = write_sample(&p, &body);
    assert_eq!(std::fs::metadata(&p).expect("md").len(), r.file_bytes);
    let img = Image::open(&p, 0x1234_5678_9abc_def0, &["car", "cdr"]).expect("open");
    assert_eq!(img.roots, meta().roots);
    assert_eq!(img.root("toplevel"), Some(6));
    assert_eq!(img.sections.len(), 1);
    assert_eq!(img.sections[0].len, body.len() as u64);
    assert_eq!(img.sections[0].file_offset % ALIGN, 0);
    assert_eq!(img.read_section(&img.sections[0]).expect("read"), body);
    assert_eq!(img.writer, "imp test");
    // No temporary file is left beside it.
    let left: Vec<_> = std::fs::read_dir(&d)
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
}

fn expect_bad(p: &Path, want: &str) {
    match Image::open(p, 0x1234_5678_9abc_def0, &["car", "cdr"]) {
        Ok(_) => panic!("{} loaded", p.display()),
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains(&p.display().to_string()), "{m}");
            assert!(m.contains(want), "wanted {want:?} in {m}");
        }
    }
}

#[test]
fn damaged_images_are_refused_with_their_cause() {
    let d = dir();
    let p = d.join("good.image");
    let body = vec![5u8; 200_000];
    write_sample(&p, &body);
    let good = std::fs::read(&p).expect("read");
    let case = |name: &str, bytes: &[u8], want: &str| {
        let q = d.join(name);
        std::fs::write(&q, bytes).expect("write");
        expect_bad(&q, want);
    };
    case("empty", &[], "empty");
    case("short", b"hello", "too short");
    case("text", &vec![b'x'; 10000], "not an imp image");
    case("truncated", &good[..good.len() - 100], "truncated");
    case("half", &good[..good.len() / 2], "truncated");
    let mut unfinished = good.clone();
    unfinished[..8].copy_from_slice(&MAGIC_UNFINISHED);
    case("unfinished", &unfinished, "incomplete");
    let mut version = good.clone();
    version[8] = 9;
    case("version", &version, "format version 9");
    let mut header = good.clone();
    header[100] ^= 1;
    case("header-flip", &header, "header's checksum");
    let mut body_flip = good.clone();
    let at = ALIGN as usize + 150_000;
    body_flip[at] ^= 0x10;
    case(
        "body-flip",
        &body_flip,
        "chunk 0 of its static section (bytes 0..200000)",
    );
    let mut table = good.clone();
    table[HEADER_BYTES as usize + 3] ^= 0x40;
    case("table-flip", &table, "tables' checksum");
    let mut trailer = good.clone();
    let n = trailer.len();
    trailer[n - 12] ^= 1;
    case("trailer-flip", &trailer, "trailer");
    // Another build.
    match Image::open(&p, 1, &["car", "cdr"]) {
        Err(e) => assert!(e.to_string().contains("another object layout"), "{e}"),
        Ok(_) => panic!("loaded with another fingerprint"),
    }
    match Image::open(&p, 0x1234_5678_9abc_def0, &["car"]) {
        Err(e) => assert!(e.to_string().contains("`cdr`"), "{e}"),
        Ok(_) => panic!("loaded without cdr"),
    }
    // Every single bit flip in the header, tables and trailer is caught.
    let tables_len = u64::from_le_bytes(good[48..56].try_into().expect("8 bytes")) as usize;
    let tables_end = HEADER_BYTES as usize + tables_len;
    for at in (0..tables_end).chain(n - 32..n) {
        for bit in [0u8, 7] {
            let mut b = good.clone();
            b[at] ^= 1 << bit;
            let q = d.join("flip");
            std::fs::write(&q, &b).expect("write");
            assert!(
                Image::open(&q, 0x1234_5678_9abc_def0, &["car", "cdr"]).is_err()
                    || at >= 128 && at < HEADER_BYTES as usize,
                "bit {bit} of byte {at}"
            );
        }
    }
}

#[test]
fn an_image_after_an_executable_is_found_by_its_trailer() {
    let d = dir();
    let p = d.join("exe");
    let mut tmp = TempFile::beside(&p).expect("tmp");
    let prefix = vec![0x7fu8; 100_000];
    std::os::unix::fs::FileExt::write_all_at(&tmp.file, &prefix, 0).expect("prefix");
    let start = prefix.len().div_ceil(ALIGN as usize) as u64 * ALIGN;
    let body = vec![9u8; 70_000];
    let s = [SectionOut {
        kind: SectionKind::Static,
        region_offset: 1 << 30,
        bytes: &body,
    }];
    write_into(&mut tmp, &meta(), &s, start, &p).expect("write");
    tmp.commit().expect("commit");
    let img = Image::open(&p, 0x1234_5678_9abc_def0, &["car", "cdr"]).expect("open");
    assert_eq!(img.start, start);
    assert_eq!(img.read_section(&img.sections[0]).expect("read"), body);
}

#[test]
fn a_failed_write_leaves_the_old_file() {
    let d = dir();
    let p = d.join("keep.image");
    std::fs::write(&p, b"old contents").expect("old");
    {
        let _tmp = TempFile::beside(&p).expect("tmp");
        // Dropped without commit: removed.
    }
    assert_eq!(std::fs::read(&p).expect("read"), b"old contents");
    let left = std::fs::read_dir(&d).expect("ls").count();
    assert_eq!(left, 1);
    match write_image(Path::new("/nonexistent-dir/x.image"), &meta(), &[]) {
        Err(e) => assert!(e.to_string().contains("/nonexistent-dir/x.image"), "{e}"),
        Ok(_) => panic!("wrote into a missing directory"),
    }
}

#[test]
fn a_streamed_image_equals_one_written_whole() {
    // Two sections, the second streamed in pieces of awkward sizes from a
    // page-aligned buffer (so whole blocks go the direct way where the
    // file system allows it, and the rest buffered).
    let d = dir();
    let whole = d.join("whole.image");
    let streamed = d.join("streamed.image");
    let pure: Vec<u8> = (0..70_001u32).map(|i| (i * 13) as u8).collect();
    let mut buf = memmap2::MmapMut::map_anon(5 << 20).expect("buffer");
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (i * 7 + i / 4096) as u8;
    }
    let body = &buf[..(5 << 20) - 123];
    let sections = [
        SectionOut {
            kind: SectionKind::Pure,
            region_offset: 1 << 29,
            bytes: &pure,
        },
        SectionOut {
            kind: SectionKind::Static,
            region_offset: 1 << 30,
            bytes: body,
        },
    ];
    write_image(&whole, &meta(), &sections).expect("write whole");
    let plans: Vec<SectionPlan> = sections
        .iter()
        .map(|s| SectionPlan {
            kind: s.kind,
            region_offset: s.region_offset,
            len: s.bytes.len() as u64,
        })
        .collect();
    let tmp = TempFile::beside(&streamed).expect("tmp");
    // The root values are only known at the end.
    let mut m = meta();
    for r in &mut m.roots {
        r.1 = 0;
    }
    let mut w = ImageStream::begin(&tmp, &m, &plans, 0, &streamed);
    let mut rest = &pure[..];
    for n in [1usize, 4095, 4097, 60_000] {
        let k = n.min(rest.len());
        w.write(&rest[..k]).expect("piece");
        rest = &rest[k..];
    }
    w.write(rest).expect("piece");
    // Aligned whole pieces, then an odd tail.
    w.write(&body[..4 << 20]).expect("piece");
    w.write(&body[4 << 20..(4 << 20) + 8192]).expect("piece");
    w.write(&body[(4 << 20) + 8192..]).expect("piece");
    assert!(w.write(&[0]).is_err(), "more bytes than the sections hold");
    w.finish(&meta()).expect("finish");
    tmp.commit().expect("commit");
    let a = Image::open(&whole, 0x1234_5678_9abc_def0, &["car", "cdr"]).expect("open whole");
    let b = Image::open(&streamed, 0x1234_5678_9abc_def0, &["car", "cdr"]).expect("open streamed");
    b.verify_body().expect("checksums");
    assert_eq!(a.roots, b.roots);
    assert_eq!(a.sections, b.sections);
    assert_eq!(b.read_section(&b.sections[0]).expect("read"), pure);
    assert_eq!(b.read_section(&b.sections[1]).expect("read"), body);
    // Byte for byte the same but for the time of saving.
    let (fa, fb) = (
        std::fs::read(&whole).expect("read"),
        std::fs::read(&streamed).expect("read"),
    );
    assert_eq!(fa.len(), fb.len());
    let differing = fa.iter().zip(&fb).filter(|(x, y)| x != y).count();
    assert!(differing <= 12, "{differing} bytes differ");
}

#[test]
fn an_unfinished_stream_is_refused() {
    let d = dir();
    let p = d.join("short.image");
    let tmp = TempFile::beside(&p).expect("tmp");
    let plans = [SectionPlan {
        kind: SectionKind::Static,
        region_offset: 1 << 30,
        len: 100,
    }];
    let mut w = ImageStream::begin(&tmp, &meta(), &plans, 0, &p);
    w.write(&[1; 99]).expect("piece");
    let e = w.finish(&meta()).expect_err("refused");
    assert!(e.to_string().contains("not all written"), "{e}");
}

// See issue #20, item 14
#[test]
fn issue_20_14_errors_are_typed_by_their_kind() {
    let d = dir();
    let p = d.join("kinds.image");
    let body: Vec<u8> = (0..(3 << 20) + 4096u32).map(|i| (i * 31) as u8).collect();
    write_sample(&p, &body);
    let good = std::fs::read(&p).expect("read");
    let open = |name: &str, bytes: &[u8]| {
        let q = d.join(name);
        std::fs::write(&q, bytes).expect("write");
        match Image::open(&q, 0x1234_5678_9abc_def0, &["car", "cdr"]) {
            Ok(_) => panic!("{name} loaded"),
            Err(e) => {
                assert_eq!(e.path(), q.display().to_string(), "{e}");
                e
            }
        }
    };
    assert!(matches!(open("empty", &[]), ImageError::NotAnImage { .. }));
    // Cut anywhere after its header, it is a truncated image whose
    // expected length is known from its tables.
    for cut in [
        100,
        HEADER_BYTES as usize + 10,
        good.len() / 2,
        good.len() - 1,
    ] {
        match open("cut", &good[..cut]) {
            ImageError::Truncated {
                expected, found, ..
            } => {
                assert_eq!(found, cut as u64);
                if cut > HEADER_BYTES as usize + 4096 {
                    assert_eq!(expected, Some(good.len() as u64), "cut at {cut}");
                }
            }
            e => panic!("cut at {cut}: {e}"),
        }
    }
    let mut v = good.clone();
    v[8] = 2;
    assert!(matches!(
        open("version", &v),
        ImageError::VersionMismatch {
            found: 2,
            supported: 1,
            ..
        }
    ));
    let mut u = good.clone();
    u[..8].copy_from_slice(&MAGIC_UNFINISHED);
    assert!(matches!(
        open("unfinished", &u),
        ImageError::Incomplete { .. }
    ));
    // A flip in the third chunk of the body names that chunk.
    let mut f = good.clone();
    f[ALIGN as usize + (2 << 20) + 77] ^= 4;
    match open("flip", &f) {
        ImageError::ChecksumMismatch {
            section: SectionKind::Static,
            chunk: 2,
            start,
            end,
            ..
        } => assert_eq!((start, end), (2 << 20, 3 << 20)),
        e => panic!("{e}"),
    }
    match Image::open(&p, 7, &["car", "cdr"]) {
        Err(ImageError::FingerprintMismatch {
            found, expected: 7, ..
        }) => {
            assert_eq!(found, 0x1234_5678_9abc_def0)
        }
        r => panic!("{:?}", r.err()),
    }
    match Image::open(&p, 0x1234_5678_9abc_def0, &["car"]) {
        Err(ImageError::UnknownPrimitive { name, .. }) => assert_eq!(name, "cdr"),
        r => panic!("{:?}", r.err()),
    }
    match Image::open(&p, 0x1234_5678_9abc_def0, &["cdr", "car"]) {
        Err(ImageError::PrimitiveOrder { name, index: 0, .. }) => assert_eq!(name, "car"),
        r => panic!("{:?}", r.err()),
    }
}

// See issue #20, item 12
#[test]
fn issue_20_12_a_body_check_finds_each_damaged_chunk_and_says_so_without_allocating() {
    let d = dir();
    let p = d.join("chunks.image");
    let body: Vec<u8> = (0..(5 << 20) + 8u32).map(|i| (i / 3) as u8).collect();
    write_sample(&p, &body);
    let img = Image::open_unchecked(&p).expect("open");
    let check = img.body_check(&img.sections[0], "imp: ").expect("check");
    assert_eq!(check.chunks(), 6);
    assert!((0..6).all(|i| check.check_chunk(i)));
    assert!(!check.check_chunk(6), "no such chunk");
    check.verify_all().expect("all good");
    let mut bytes = std::fs::read(&p).expect("read");
    bytes[ALIGN as usize + (4 << 20) + 1] ^= 1;
    bytes[ALIGN as usize + (5 << 20) + 3] ^= 1;
    let q = d.join("chunks-bad.image");
    std::fs::write(&q, &bytes).expect("write");
    let img = Image::open_unchecked(&q).expect("open");
    let check = img.body_check(&img.sections[0], "imp: ").expect("check");
    let bad: Vec<usize> = (0..6).filter(|&i| !check.check_chunk(i)).collect();
    assert_eq!(bad, [4, 5]);
    let e = check.verify_all().expect_err("damaged");
    assert!(
        matches!(e, ImageError::ChecksumMismatch { chunk: 4, .. }),
        "{e}"
    );
    // The signal handler's message is the error's, prefixed.
    for i in [4, 5] {
        let mut out = [0u8; 512];
        let n = check.damage_message(i, &mut out);
        assert_eq!(
            std::str::from_utf8(&out[..n]).expect("utf-8"),
            format!("imp: {}\n", check.error(i))
        );
    }
    let e = check.error(5).to_string();
    assert!(
        e.contains(&q.display().to_string())
            && e.contains("chunk 5 of its static section (bytes 5242880..5242888)"),
        "{e}"
    );
    // Too short a buffer cuts the message, never overruns.
    let mut tiny = [0u8; 7];
    assert_eq!(check.damage_message(4, &mut tiny), 7);
}
