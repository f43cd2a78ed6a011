/**
 * A two-note chime made in the page (Web Audio), so it needs no sound file and no network. Browsers
 * let a page make sound only after a person has interacted with it: the context is created when the
 * chime is switched on, by that click.
 * @see https://developer.mozilla.org/en-US/docs/Web/API/Web_Audio_API/Best_practices#autoplay_policy
 */
export class Chime {
  #context: AudioContext | undefined;

  enable() {
    this.#context ??= new AudioContext();
    void this.#context.resume();
  }

  disable() {
    void this.#context?.suspend();
  }

  play() {
    const ctx = this.#context;
    if (ctx?.state !== 'running') return;
    [880, 1320].forEach((hz, i) => {
      const start = ctx.currentTime + i * 0.18;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.17);
    });
  }
}
