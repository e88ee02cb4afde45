// Test support: Dependency Descriptor vectors (AV1 RTP spec, Appendix A): hand-built golden packets for
// libwebrtc's L1T3 and L3T3_KEY structures, and Chrome's L3T3 descriptors captured on the wire.
// https://aomediacodec.github.io/av1-rtp-spec/#dependency-descriptor-rtp-header-extension
import type { DependencyStructure, FrameDependencyTemplate } from '../rtp/dependency-descriptor.js';

/** Packs a string of '0'/'1' (spaces and '|' ignored) into bytes, zero padding the last one. */
export function bits(layout: string): Uint8Array {
  const s = layout.replace(/[\s|]/g, '');
  if (!/^[01]*$/.test(s)) throw new Error(`not a bit string: ${s}`);
  const out = new Uint8Array(Math.ceil(s.length / 8));
  for (let i = 0; i < s.length; i++) if (s[i] === '1') out[i >>> 3]! |= 0x80 >>> (i & 7);
  return out;
}

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
}

/** A template in the spec tables' notation: dtis as '-' not present, 'D', 'S', 'R'. */
export function tpl(
  spatialId: number,
  temporalId: number,
  dtis: string,
  fdiffs: number[],
  chainDiffs: number[],
): FrameDependencyTemplate {
  return { spatialId, temporalId, dtis: [...dtis].map((c) => '-DSR'.indexOf(c)), fdiffs, chainDiffs };
}

// L1T3 as libwebrtc sends it (3 decode targets T0, T0-T1, T0-T2; one chain over the T0 frames), with
// template_id_offset 62 so template ids wrap: templates 0..4 have ids 62, 63, 0, 1, 2. 16 bytes in all.
export const L1T3: DependencyStructure = {
  structureId: 62,
  decodeTargetCount: 3,
  chainCount: 1,
  decodeTargetProtectedByChain: [0, 0, 0],
  templates: [
    tpl(0, 0, 'SSS', [], [0]),
    tpl(0, 0, 'SSS', [4], [4]),
    tpl(0, 1, '-DS', [2], [2]),
    tpl(0, 2, '--D', [1], [1]),
    tpl(0, 2, '--D', [1], [3]),
  ],
  resolutions: [],
};
export const L1T3_KEY_PACKET = hex('be ff ff 87 c2 14 ea a8 60 41 4d 14 10 20 84 26');
export const L1T3_LAYOUT = bits(`
  1 0 111110 | 1111111111111111
  1 0 0 0 0
  111110 | 00010
  00 01 01 00 11
  101010 | 101010 | 000110 | 000001 | 000001
  0 | 1 0011 0 | 1 0001 0 | 1 0000 0 | 1 0000 0
  01
  0000 | 0100 | 0010 | 0001 | 0011
  0
`);
// start_of_frame 1, end_of_frame 0, frame_dependency_template_id 62 (template 0), frame_number 65535
// flags: template_dependency_structure_present 1, active_decode_targets 0, custom dtis/fdiffs/chains 0
// template_id_offset 62, dt_cnt_minus_one 2
// next_layer_idc: same (T0), +temporal (T1), +temporal (T2), same (T2), no more templates
// template_dti (2 bits each, 0 '-' 1 'D' 2 'S' 3 'R'): SSS, SSS, -DS, --D, --D
// template_fdiffs (fdiff_follows_flag, fdiff_minus_one): none | 4 | 2 | 1 | 1
// chain_cnt = ns(4) of 1: w = 3, m = 4, 1 < m so f(2) = 01; decode_target_protected_by = ns(1): no bits
// template_chain_fdiff (4 bits each): 0, 4, 2, 1, 3
// resolutions_present_flag 0; 128 bits, no padding

// L3T3_KEY as libwebrtc's AV1 encoder describes it: decode target 3 * S + T is spatial layer S at temporal
// layer T; chain S protects the decode targets of spatial layer S. Templates sorted by (S, T).
export const L3T3_KEY: DependencyStructure = {
  structureId: 5,
  decodeTargetCount: 9,
  chainCount: 3,
  decodeTargetProtectedByChain: [0, 0, 0, 1, 1, 1, 2, 2, 2],
  templates: [
    tpl(0, 0, 'SSSSSSSSS', [], [0, 0, 0]),
    tpl(0, 0, 'SSS------', [12], [12, 11, 10]),
    tpl(0, 1, '-DS------', [6], [6, 5, 4]),
    tpl(0, 2, '--D------', [3], [3, 2, 1]),
    tpl(0, 2, '--D------', [3], [9, 8, 7]),
    tpl(1, 0, '---SSSSSS', [1], [1, 1, 1]),
    tpl(1, 0, '---SSS---', [12], [1, 12, 11]),
    tpl(1, 1, '----DS---', [6], [7, 6, 5]),
    tpl(1, 2, '-----D---', [3], [4, 3, 2]),
    tpl(1, 2, '-----D---', [3], [10, 9, 8]),
    tpl(2, 0, '------SSS', [1], [2, 1, 1]),
    tpl(2, 0, '------SSS', [12], [2, 1, 12]),
    tpl(2, 1, '-------DS', [6], [8, 7, 6]),
    tpl(2, 2, '--------D', [3], [5, 4, 3]),
    tpl(2, 2, '--------D', [3], [11, 10, 9]),
  ],
  resolutions: [
    { width: 320, height: 180 },
    { width: 640, height: 360 },
    { width: 1280, height: 720 },
  ],
};
export const L3T3_KEY_PACKET = bits(`
  1 1 000101 | 0001001000110100
  1 0 0 0 0
  000101 | 01000
  00 01 01 00 10 00 01 01 00 10 00 01 01 00 11
  10 10 10 10 10 10 10 10 10
  10 10 10 00 00 00 00 00 00
  00 01 10 00 00 00 00 00 00
  00 00 01 00 00 00 00 00 00
  00 00 01 00 00 00 00 00 00
  00 00 00 10 10 10 10 10 10
  00 00 00 10 10 10 00 00 00
  00 00 00 00 01 10 00 00 00
  00 00 00 00 00 01 00 00 00
  00 00 00 00 00 01 00 00 00
  00 00 00 00 00 00 10 10 10
  00 00 00 00 00 00 10 10 10
  00 00 00 00 00 00 00 01 10
  00 00 00 00 00 00 00 00 01
  00 00 00 00 00 00 00 00 01
  0 | 1 1011 0 | 1 0101 0 | 1 0010 0 | 1 0010 0 | 1 0000 0 | 1 1011 0 | 1 0101 0
  1 0010 0 | 1 0010 0 | 1 0000 0 | 1 1011 0 | 1 0101 0 | 1 0010 0 | 1 0010 0
  011
  0 0 0 10 10 10 11 11 11
  0000 0000 0000 | 1100 1011 1010 | 0110 0101 0100 | 0011 0010 0001 | 1001 1000 0111
  0001 0001 0001 | 0001 1100 1011 | 0111 0110 0101 | 0100 0011 0010 | 1010 1001 1000
  0010 0001 0001 | 0010 0001 1100 | 1000 0111 0110 | 0101 0100 0011 | 1011 1010 1001
  1
  0000000100111111 0000000010110011
  0000001001111111 0000000101100111
  0000010011111111 0000001011001111
`);
// start 1, end 1, template id 5 (= offset + 0: the key frame template), frame_number 0x1234
// flags: structure present, no bitmask, no custom fields
// template_id_offset 5, dt_cnt_minus_one 8
// next_layer_idc for templates 1..14 (00 same, 01 +temporal, 10 next spatial at T0), then 11
// template_dti: 15 templates x 9 decode targets (10 'S', 01 'D', 00 '-')
// template_fdiffs: (1, fdiff - 1) per fdiff, 0 ends the template: none, 12, 6, 3, 3, 1, 12, 6, 3, 3, 1, 12, 6, 3, 3
// chain_cnt = ns(10) of 3: w = 4, m = 6, 3 < m so f(3) = 011
// decode_target_protected_by = ns(3): w = 2, m = 1; 0 -> f(1) 0, 1 -> f(2) of 1 + m = 10, 2 -> f(2) 11
// template_chain_fdiff: 3 x 4 bits per template
// resolutions_present_flag 1, then (width - 1, height - 1) x 16 bits: 320x180, 640x360, 1280x720; zero padding

// Captured from Chrome (libwebrtc's AV1 L3T3 full SVC) and published in LiveKit's DD unit test
// (pkg/sfu/rtpextension/dependencydescriptor), in capture order. The structure is libwebrtc's L3T3 one
// (L3T3_FULL_SVC below): the key frame's first packet (95 bytes), then delta frames, some of them with an
// active_decode_targets_bitmask of 0b000111111 (spatial layer 2 off).
const CAPTURED_L3T3_KEY_FRAME =
  'c1017280081485214eafffaaaa863cf0430c10c302afc0aaa0063c00430010c002a000a80006000040001d954926e082b04a' +
  '0941b820ac1282503157f974000ca864330e222222eca8655304224230eca877530077004200ef008601df010d';
export const CAPTURED_L3T3: readonly string[] = [
  CAPTURED_L3T3_KEY_FRAME,
  '86017340fc',
  '46017340fc',
  'c3017540fc',
  '88017640fc',
  '48017640fc',
  'c2017840fc',
  CAPTURED_L3T3_KEY_FRAME,
  '860173',
  '460173',
  '8b0174',
  '0b0174',
  '0b0174',
  'c30175',
];export const L3T3_FULL_SVC: DependencyStructure = {
  structureId: 0,
  decodeTargetCount: 9,
  chainCount: 3,
  decodeTargetProtectedByChain: [0, 0, 0, 1, 1, 1, 2, 2, 2],
  templates: [
    tpl(0, 0, 'SSSRRRRRR', [12], [12, 11, 10]),
    tpl(0, 0, 'SSSSSSSSS', [], [0, 0, 0]),
    tpl(0, 1, '-DS-RR-RR', [6], [6, 5, 4]),
    tpl(0, 2, '--D--R--R', [3], [3, 2, 1]),
    tpl(0, 2, '--D--R--R', [3], [9, 8, 7]),
    tpl(1, 0, '---SSSRRR', [12, 1], [1, 1, 1]),
    tpl(1, 0, '---SSSSSS', [1], [1, 1, 1]),
    tpl(1, 1, '----DS-RR', [6, 1], [7, 6, 5]),
    tpl(1, 2, '-----D--R', [3, 1], [4, 3, 2]),
    tpl(1, 2, '-----D--R', [3, 1], [10, 9, 8]),
    tpl(2, 0, '------SSS', [12, 1], [2, 1, 1]),
    tpl(2, 0, '------SSS', [1], [2, 1, 1]),
    tpl(2, 1, '-------DS', [6, 1], [8, 7, 6]),
    tpl(2, 2, '--------D', [3, 1], [5, 4, 3]),
    tpl(2, 2, '--------D', [3, 1], [11, 10, 9]),
  ],
  resolutions: [
    { width: 120, height: 67 },
    { width: 240, height: 135 },
    { width: 480, height: 270 },
  ],
};
