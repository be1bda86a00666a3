//! The public rendering API: determinism, size limits, colour types, post-chain properties, and
//! the geometry of each view.

use spectral_diffusion::render::{
    ColorType, Image, Look, NoiseSettings, Palette, PieShape, PostChain, RenderError,
    RenderSettings, Renderer, View,
};

/// A spectrum shaped like music: loud lows, falling highs, a little ripple.
fn music_like(num_bins: usize) -> Vec<f32> {
    (0..num_bins)
        .map(|i| {
            let x = i as f32 / num_bins as f32;
            (0.9 - 0.6 * x + 0.1 * (x * 40.0).sin()).clamp(0.0, 1.0)
        })
        .collect()
}

/// Raw drawing in the post's look: no noise, no post chain, so pixels are background (0) or the
/// view, and a value is drawn as it is.
fn raw(view: View, palette: Palette) -> RenderSettings {
    RenderSettings {
        view,
        palette,
        noise: NoiseSettings {
            amount: 0.0,
            ..NoiseSettings::default()
        },
        post: PostChain {
            blur_sigma: 0.0,
            desaturate: true,
            autocontrast: false,
            ..PostChain::default()
        },
        ..RenderSettings::for_look(Look::Post)
    }
}

fn render_once(settings: &RenderSettings, bins: &[f32]) -> Image {
    Renderer::new(settings)
        .expect("valid settings")
        .render(0, bins)
        .clone()
}

fn grey(image: &Image, x: u32, y: u32) -> u8 {
    image.pixels[(y * image.width + x) as usize]
}

/// The writer, the GUI preview and a re-render must agree byte for byte.
#[test]
fn rendering_is_deterministic() {
    let bins = music_like(256);
    for view in [View::Pie, View::Polar, View::Bars] {
        for per_frame in [false, true] {
            let mut settings = RenderSettings {
                view,
                ..RenderSettings::default()
            };
            settings.noise.per_frame = per_frame;
            settings.post.desaturate = false;
            let mut first = Renderer::new(&settings).unwrap();
            let mut second = Renderer::new(&settings).unwrap();
            let a = first.render(7, &bins).clone();
            assert_eq!(
                &a,
                first.render(7, &bins),
                "{view:?}: same renderer, same frame"
            );
            assert_eq!(&a, second.render(7, &bins), "{view:?}: two renderers");
        }
    }
}

/// Per-frame noise changes with the frame index; the take's fixed noise does not.
#[test]
fn frame_index_only_matters_for_per_frame_noise() {
    let bins = music_like(64);
    let mut settings = RenderSettings::default();
    let mut fixed = Renderer::new(&settings).unwrap();
    assert_eq!(fixed.render(0, &bins).clone(), *fixed.render(1, &bins));
    settings.noise.per_frame = true;
    let mut fresh = Renderer::new(&settings).unwrap();
    assert_ne!(fresh.render(0, &bins).clone(), *fresh.render(1, &bins));
}

/// Sizes 64..=2048 are accepted, anything else is a readable error, not a panic or a huge alloc.
#[test]
fn sizes_outside_64_to_2048_are_rejected() {
    for size in [64, 65, 2047, 2048] {
        let settings = RenderSettings {
            size,
            ..RenderSettings::default()
        };
        let mut renderer = Renderer::new(&settings).unwrap_or_else(|e| panic!("size {size}: {e}"));
        let image = renderer.render(0, &music_like(256));
        assert_eq!((image.width, image.height), (size, size));
    }
    for size in [0, 63, 2049] {
        let settings = RenderSettings {
            size,
            ..RenderSettings::default()
        };
        let err = Renderer::new(&settings).err();
        assert!(
            matches!(err, Some(RenderError::Size(s)) if s == size),
            "size {size}: {err:?}"
        );
    }
    let message = RenderError::Size(63).to_string();
    assert_eq!(message, "image size 63 is outside 64..=2048 pixels");
}

/// Nonsense knobs are refused with their own error rather than drawing garbage.
#[test]
fn out_of_range_knobs_are_rejected() {
    let mut settings = RenderSettings::default();
    settings.noise.amount = 1.5;
    assert!(matches!(
        Renderer::new(&settings),
        Err(RenderError::NoiseAmount(_))
    ));
    settings = RenderSettings::default();
    settings.post.blur_sigma = f32::NAN;
    assert!(matches!(
        Renderer::new(&settings),
        Err(RenderError::BlurSigma(_))
    ));
    settings = RenderSettings::default();
    settings.post.autocontrast_cutoff_percent = -1.0;
    assert!(matches!(
        Renderer::new(&settings),
        Err(RenderError::AutocontrastCutoff(_))
    ));
}

/// The PNG writer picks its colour type from the image: grey must be 1 byte a pixel, RGB 3.
#[test]
fn desaturate_gives_grey_else_rgb() {
    let mut settings = RenderSettings::for_look(Look::Post);
    let image = render_once(&settings, &music_like(256));
    assert_eq!(image.color, ColorType::Grey);
    assert_eq!(image.pixels.len(), 512 * 512);
    settings.post.desaturate = false;
    let image = render_once(&settings, &music_like(256));
    assert_eq!(image.color, ColorType::Rgb);
    assert_eq!(image.pixels.len(), 512 * 512 * 3);
    assert!(
        image.pixels.chunks_exact(3).any(|px| px[0] != px[1]),
        "the rainbow has colour"
    );
}

/// The post's images use the full range after autocontrast.
#[test]
fn autocontrast_spans_full_range() {
    for view in [View::Pie, View::Polar, View::Bars] {
        let settings = RenderSettings {
            view,
            ..RenderSettings::for_look(Look::Post)
        };
        let image = render_once(&settings, &music_like(256));
        assert_eq!(image.pixels.iter().min(), Some(&0), "{view:?}");
        assert_eq!(image.pixels.iter().max(), Some(&255), "{view:?}");
    }
}

/// Invert is exactly 255 − p of the same frame without it.
#[test]
fn invert_maps_p_to_255_minus_p() {
    let mut settings = RenderSettings::default();
    settings.post.autocontrast = false;
    let plain = render_once(&settings, &music_like(256));
    settings.post.invert = true;
    let inverted = render_once(&settings, &music_like(256));
    assert!(
        plain
            .pixels
            .iter()
            .zip(&inverted.pixels)
            .all(|(&p, &q)| q == 255 - p)
    );
}

/// Equalize spreads the pixels: no band of 32 levels holds more than twice its fair share.
#[test]
fn equalize_flattens_histogram() {
    let mut settings = RenderSettings::for_look(Look::Post);
    settings.noise.amount = 1.0;
    settings.post.equalize = true;
    let image = render_once(&settings, &music_like(256));
    let mut bands = [0usize; 8];
    for &p in &image.pixels {
        bands[usize::from(p / 32)] += 1;
    }
    let fair = image.pixels.len() / 8;
    assert!(
        bands.iter().all(|&n| n < 2 * fair),
        "bands {bands:?}, fair {fair}"
    );
    assert!(
        bands.iter().filter(|&&n| n > fair / 2).count() >= 6,
        "bands {bands:?}"
    );
}

/// Lit pixels from the centre outwards along a direction, stopping at the first background pixel.
fn lit_run(image: &Image, angle_deg: f32) -> u32 {
    let centre = image.width as f32 / 2.0;
    let (sin, cos) = angle_deg.to_radians().sin_cos();
    (1..image.width / 2)
        .take_while(|&r| {
            let (x, y) = (centre + r as f32 * cos, centre + r as f32 * sin);
            grey(image, x as u32, y as u32) > 127
        })
        .count() as u32
}

/// A louder bin draws a longer wedge: the radius is the spectrum.
#[test]
fn louder_bin_draws_longer_wedge() {
    let settings = raw(View::Pie, Palette::Grey);
    // Four wedges of 45° each; wedge 1 spans -45°..0°, wedge 2 0°..45° (clockwise from 3 o'clock).
    let image = render_once(&settings, &[0.2, 0.3, 0.9, 0.2]);
    let quiet = lit_run(&image, -22.5);
    let loud = lit_run(&image, 22.5);
    let (r_min, r_max) = (0.05 * 512.0, 0.48 * 512.0);
    assert!(
        quiet.abs_diff((r_min + (r_max - r_min) * 0.3) as u32) <= 2,
        "quiet wedge {quiet} px"
    );
    assert!(
        loud.abs_diff((r_min + (r_max - r_min) * 0.9) as u32) <= 2,
        "loud wedge {loud} px"
    );
}

/// The post's half pie lives right of the vertical axis; the left half stays background.
#[test]
fn half_pie_leaves_left_half_background() {
    let settings = raw(View::Pie, Palette::Grey);
    let image = render_once(&settings, &[1.0; 256]);
    let left_lit = (0..512)
        .flat_map(|y| (0..256).map(move |x| (x, y)))
        .filter(|&(x, y)| grey(&image, x, y) != 0);
    assert_eq!(left_lit.count(), 0);
    assert!(grey(&image, 300, 256) == 255, "the right half is drawn");
}

/// The full pie is the half pie mirrored about the vertical axis.
#[test]
fn full_pie_mirrors_left_right() {
    let mut settings = raw(View::Pie, Palette::Rainbow);
    settings.pie_shape = PieShape::Full;
    settings.post.desaturate = false;
    let image = render_once(&settings, &music_like(100));
    let row_len = 512 * 3;
    for row in image.pixels.chunks_exact(row_len) {
        for x in 0..512 {
            assert_eq!(
                row[x * 3..x * 3 + 3],
                row[(511 - x) * 3..(511 - x) * 3 + 3],
                "column {x}"
            );
        }
    }
    assert!(
        image.pixels.iter().filter(|&&p| p > 0).count() > 100_000,
        "the pie is drawn"
    );
}

/// A louder bin sweeps more of its ring, so more pixels light up in the polar view.
#[test]
fn polar_dots_grow_with_value() {
    let settings = raw(View::Polar, Palette::Grey);
    let lit = |v: f32| {
        render_once(&settings, &[v; 32])
            .pixels
            .iter()
            .filter(|&&p| p > 0)
            .count()
    };
    let counts = [lit(0.0), lit(0.25), lit(0.5), lit(1.0)];
    assert_eq!(counts[0], 0, "silence draws no dots");
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
}

/// Bars rise from the bottom to the value's height, and silence draws nothing.
#[test]
fn bars_rise_to_value() {
    let settings = raw(View::Bars, Palette::Grey);
    let image = render_once(&settings, &[0.0, 0.5, 1.0, 0.25]);
    let height = |x: u32| (0..512).filter(|&y| grey(&image, x, y) > 127).count();
    assert_eq!(
        [height(64), height(192), height(320), height(448)],
        [0, 256, 512, 128]
    );
}

/// A broken analysis frame (NaN, ±inf) draws like silence instead of panicking or smearing.
#[test]
fn non_finite_bins_render_like_zeros() {
    for view in [View::Pie, View::Polar, View::Bars] {
        let settings = RenderSettings {
            view,
            ..RenderSettings::default()
        };
        let mut broken = music_like(64);
        let mut zeros = broken.clone();
        for (i, v) in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]
            .into_iter()
            .enumerate()
        {
            broken[i * 10] = v;
            zeros[i * 10] = 0.0;
        }
        assert_eq!(
            render_once(&settings, &broken),
            render_once(&settings, &zeros),
            "{view:?}"
        );
    }
}

/// Odd bin counts, a single bin and no bins all render without panicking.
#[test]
fn any_bin_count_renders() {
    for view in [View::Pie, View::Polar, View::Bars] {
        let settings = RenderSettings {
            view,
            size: 64,
            ..RenderSettings::default()
        };
        let mut renderer = Renderer::new(&settings).unwrap();
        for num_bins in [0, 1, 3, 255, 256, 1000, 5000] {
            let image = renderer.render(0, &music_like(num_bins));
            assert_eq!(image.pixels.len(), 64 * 64, "{view:?} with {num_bins} bins");
        }
    }
}

/// The guide look drawn for measuring at 256 px: no noise (a flat mid-grey ground), no post chain.
fn guide_raw(view: View) -> RenderSettings {
    let mut settings = raw(view, Palette::Level);
    settings.look = Look::Guide;
    settings.pie_shape = PieShape::Full;
    settings.size = 256;
    settings
}

/// Share of pixels where two frames differ by more than 10 % of full scale.
fn share_differing(a: &Image, b: &Image) -> f64 {
    let num = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .filter(|&(&p, &q)| p.abs_diff(q) > 25)
        .count();
    num as f64 / a.pixels.len() as f64
}

/// Mean absolute difference per pixel, in 1/255.
fn mean_change(a: &Image, b: &Image) -> f64 {
    let total: u64 = a
        .pixels
        .iter()
        .zip(&b.pixels)
        .map(|(&p, &q)| u64::from(p.abs_diff(q)))
        .sum();
    total as f64 / a.pixels.len() as f64
}

/// A broadband frame at `level` on the `default` preset's scale (0 = -90 dB, 1 = 0 dBFS), with a
/// little ripple so neighbouring bands differ as in music.
fn broadband(level: f32) -> Vec<f32> {
    (0..256)
        .map(|i| level + 0.03 * (i as f32 * 0.7).sin())
        .collect()
}

/// Silence, and levels below a view's window, draw nothing in the guide look: the frame is the
/// background alone (no centre disc, no stubs), so nothing stays fixed between quiet and loud.
#[test]
fn guide_silence_draws_no_shape() {
    for view in [View::Pie, View::Polar, View::Bars] {
        let settings = RenderSettings {
            view,
            size: 128,
            ..RenderSettings::default()
        };
        let background = render_once(&settings, &[]);
        let (bottom, _) = view.guide_levels();
        assert_eq!(render_once(&settings, &[0.0; 256]), background, "{view:?}");
        assert_eq!(
            render_once(&settings, &[bottom; 256]),
            background,
            "{view:?} at the bottom of its window"
        );
        assert_ne!(
            render_once(&settings, &broadband(0.5)),
            background,
            "{view:?} draws music"
        );
    }
}

/// At music's typical level (-45 dB, 0.5 on the scale; the held-out track's median band is
/// 0.3 to 0.5) every view's shape covers at least 15 % of the frame: the target.
#[test]
fn guide_shape_covers_the_frame_at_music_level() {
    for view in [View::Pie, View::Polar, View::Bars] {
        let settings = guide_raw(view);
        let covered = share_differing(
            &render_once(&settings, &broadband(0.5)),
            &render_once(&settings, &[]),
        );
        assert!(covered >= 0.15, "{view:?} covers {:.1} %", covered * 100.0);
    }
}

/// Music 6 dB louder moves every view by at least 4/255 a pixel on average (the target
/// for the mean frame-to-frame change), the ground and post chain included.
#[test]
fn a_6_db_change_moves_every_guide_view() {
    for view in [View::Pie, View::Polar, View::Bars] {
        let settings = RenderSettings {
            view,
            size: 256,
            ..RenderSettings::default()
        };
        let quieter = render_once(&settings, &broadband(0.45));
        let louder = render_once(&settings, &broadband(0.45 + 6.0 / 90.0));
        let change = mean_change(&quieter, &louder);
        assert!(change >= 4.0, "{view:?} moves {change:.2}/255");
    }
}

/// A loud band brightens its own slice and nothing else: brightness follows the level, not
/// the angle or the column.
#[test]
fn guide_loud_band_brightens_its_slice() {
    let base = vec![0.35; 64];
    let mut loud = base.clone();
    loud[16..24].fill(0.65);
    // Pie: bin i's wedge is centred (i + 0.5) * 180 / 64 degrees clockwise from 12 o'clock.
    let settings = guide_raw(View::Pie);
    let (quiet_img, loud_img) = (render_once(&settings, &base), render_once(&settings, &loud));
    let at = |image: &Image, bin: f32| {
        let angle = ((bin + 0.5) * 180.0 / 64.0 - 90.0).to_radians();
        grey(
            image,
            (128.0 + 20.0 * angle.cos()) as u32,
            (128.0 + 20.0 * angle.sin()) as u32,
        )
    };
    assert!(
        at(&loud_img, 20.0) > at(&quiet_img, 20.0).saturating_add(40),
        "the loud slice: {} vs {}",
        at(&loud_img, 20.0),
        at(&quiet_img, 20.0)
    );
    assert_eq!(at(&loud_img, 48.0), at(&quiet_img, 48.0), "another slice");
    // Bars: the loud bins' columns brighten at the bottom; others stay.
    let settings = guide_raw(View::Bars);
    let (quiet_img, loud_img) = (render_once(&settings, &base), render_once(&settings, &loud));
    let column = |bin: u32| bin * 4 + 2;
    assert!(
        grey(&loud_img, column(20), 250) > grey(&quiet_img, column(20), 250).saturating_add(40)
    );
    assert_eq!(
        grey(&loud_img, column(48), 250),
        grey(&quiet_img, column(48), 250)
    );
    // Every bin at one level has one brightness: no fixed bright ray or dark band.
    let flat = render_once(&settings, &[0.7; 64]);
    let bottom: Vec<u8> = (0..64).map(|bin| grey(&flat, column(bin), 250)).collect();
    assert!(bottom.windows(2).all(|w| w[0] == w[1]), "{bottom:?}");
}
