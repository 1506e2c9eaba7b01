"""Make synthetic two-channel calls with known words and turn times (espeak-ng + sox).

Agent on the left channel, customer on the right, 8 kHz 16-bit like a phone line. Each call is
written as FLAC beside a JSON file with the true turns: speaker, start, end (measured from the
rendered speech, not from the schedule) and text.

    python scripts/make_synthetic_calls.py tests/data            # the committed test calls
    python scripts/make_synthetic_calls.py /tmp/x --only long5min  # the benchmark call
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 8000
RAW_MONO_8K = ["-r", str(RATE), "-c", "1", "-b", "16", "-e", "signed", "-t", "raw"]
VOICES = {"agent": "en-us+f3", "customer": "en-gb+m3"}


@dataclass
class Turn:
    speaker: str
    at: float
    text: str
    # When set, the turn starts this many seconds after the previous one ends (`at` ignored):
    # short replies right on the heels of long turns, as people answer.
    after: float | None = None


CALLS: dict[str, list[Turn]] = {
    "basic": [
        Turn(
            "agent",
            0.6,
            "Thank you for calling Acme Insurance, my name is Laura, how can I help you today?",
        ),
        Turn("customer", 6.0, "Hi Laura, I would like to check the status of my claim please."),
        Turn("agent", 11.5, "Of course. Could you give me your policy number?"),
        Turn("customer", 16.0, "Yes, it is seven seven two, four four one."),
        Turn(
            "agent",
            21.0,
            "Thank you. Your claim was approved yesterday and the payment will arrive in "
            "three days.",
        ),
        Turn("customer", 28.5, "That is great news, thank you very much."),
        Turn("agent", 32.5, "You are welcome. Is there anything else I can help you with?"),
        Turn("customer", 37.0, "No, that is all. Goodbye."),
    ],
    # Long silences between turns: where VAD chunk merging shifts Whisper's timestamps.
    "long_silence": [
        Turn("agent", 1.0, "Good morning, this is David from Northwind Energy speaking."),
        Turn("customer", 6.0, "Hello David, my electricity bill looks far too high this month."),
        Turn("agent", 12.0, "I am sorry to hear that. Let me check your account, one moment."),
        Turn(
            "agent", 45.0, "Thank you for waiting. I can see a meter reading error on your account."
        ),
        Turn("customer", 52.0, "I knew something was wrong with it."),
        Turn("customer", 85.0, "Are you still there?"),
        Turn(
            "agent",
            89.0,
            "Yes, I have corrected the reading and you will receive a new bill by Friday.",
        ),
        Turn("customer", 97.0, "Perfect, thank you David."),
    ],
    # Hold music on the agent leg for a minute: nothing may be transcribed over it.
    "hold": [
        Turn("agent", 0.8, "Thank you for calling Contoso Bank, this is Maria."),
        Turn("customer", 5.0, "Hi, I need to dispute a payment on my statement."),
        Turn(
            "agent",
            10.0,
            "Certainly. May I place you on a brief hold while I pull up your account?",
        ),
        Turn("customer", 15.5, "Sure, go ahead."),
        Turn(
            "agent", 82.0, "Thank you for holding. I have found the payment and opened a dispute."
        ),
        Turn("customer", 88.0, "Thank you, that was quick."),
    ],
    # Card details read out by the customer: must never be stored.
    "pci": [
        Turn("agent", 0.5, "Thank you for calling Fabrikam Travel, this is Tom, how can I help?"),
        Turn("customer", 5.0, "I would like to pay for my booking by card."),
        Turn("agent", 9.0, "Of course, please read me the long number on the card."),
        Turn(
            "customer",
            13.5,
            "It is four one one one, one one one one, one one one one, one one one one.",
        ),
        Turn("agent", 23.5, "And the expiry date?"),
        Turn("customer", 26.0, "The expiry date is zero nine, twenty eight."),
        Turn("agent", 30.5, "And the security code on the back?"),
        Turn("customer", 33.5, "The security code is three seven one."),
        Turn("agent", 37.5, "Thank you, the payment went through."),
    ],
}


# The scoring validity set: one good call and variants that each differ in one respect.
_BASE = [
    Turn(
        "agent",
        0.5,
        "Thank you for calling Acme Energy, my name is Laura, this call may be recorded.",
    ),
    Turn(
        "customer", 7.0, "Hi Laura, my name is Peter. My bill is wrong again and I am really upset."
    ),
    Turn("agent", 13.0, "I am so sorry to hear that, Peter. Can you confirm your account number?"),
    Turn("customer", 18.5, "Yes, it is four four one two."),
    Turn(
        "agent",
        22.0,
        "Thank you. I have corrected the bill and you will see the refund within three days.",
    ),
    Turn("customer", 29.0, "Great, thank you."),
    Turn(
        "agent",
        31.5,
        "Is there anything else I can help with? Thank you for calling, have a great day.",
    ),
]


def _variant(changes: dict[int, str], shift_agent_replies: float = 0.0) -> list[Turn]:
    out, shift = [], 0.0
    for i, turn in enumerate(_BASE):
        if turn.speaker == "agent" and i > 0:
            shift += shift_agent_replies
        out.append(Turn(turn.speaker, turn.at + shift, changes.get(i, turn.text)))
    return out


VALIDITY: dict[str, list[Turn]] = {
    "pair_good": _BASE,
    "pair_cold": _variant({2: "Can you confirm your account number?"}),
    "pair_no_disclosure": _variant({0: "Thank you for calling Acme Energy, my name is Laura."}),
    "pair_slow": _variant({}, shift_agent_replies=12.0),
    "pair_unsure": _variant(
        {4: "Hmm, I don't know why that happened. Maybe it will sort itself out."}
    ),
    "pair_promise": _variant(
        {
            4: "You should move your savings to our plan, it has guaranteed "
            "returns and it is risk free."
        }
    ),
}
CALLS.update(VALIDITY)

# Short replies right after long turns, with the agent's voice bleeding into the customer's leg
# and the customer echoing the agent's words in their own voice ("see you soon"): the turns a
# stereo pipeline loses when it glues speech chunks or mistakes a reply for an echo.
SHORT_TURNS = [
    Turn("agent", 0.5, "Thank you for calling Contoso Motors, this is Anna. How can I help you?"),
    Turn("customer", 0.0, "Hi Anna, the service light on my car came on.", after=0.6),
    Turn(
        "agent",
        0.0,
        "I am sorry about that. I can see your car in our system, and we would be happy to "
        "take care of it at no charge. Our first free slot is two days from now, and you are "
        "also welcome to walk in any time before then, although there might be a short wait.",
        after=0.7,
    ),
    Turn("customer", 0.0, "Yes.", after=0.3),
    Turn("agent", 0.0, "Would you prefer the morning or the afternoon?", after=0.8),
    Turn("customer", 0.0, "Eight to ten, the earlier the better.", after=0.4),
    Turn(
        "agent",
        0.0,
        "Wonderful. I have booked you in at eight in the morning, two days from now, and I "
        "have noted that you would like the car back the same day. Is there anything else "
        "I can help you with?",
        after=0.5,
    ),
    Turn("customer", 0.0, "No.", after=0.4),
    Turn("agent", 0.0, "Okay, we are looking forward to seeing you soon.", after=0.6),
    Turn("customer", 0.0, "See you soon.", after=0.3),
    Turn("agent", 0.0, "Bye-bye.", after=0.2),
    Turn("customer", 0.0, "Bye.", after=0.3),
]
CALLS["short_turns"] = SHORT_TURNS
# How much of the agent's leg leaks into the customer's (dB), per call; real lines do this.
BLEED_DB = {"short_turns": -24.0}


def _long5min() -> list[Turn]:
    lines = [
        ("agent", "Thank you for calling Tailspin Telecom, my name is Chris, how can I help you?"),
        ("customer", "Hello Chris, my internet keeps dropping every evening around eight."),
        ("agent", "I am sorry about that. Let me run a line test on your connection."),
        ("customer", "Thank you, it has been happening for about a week now."),
        ("agent", "The test shows noise on the line. I will book an engineer visit for you."),
        ("customer", "When can the engineer come? I work during the day."),
        ("agent", "We have a slot on Saturday morning between eight and twelve."),
        ("customer", "Saturday morning works well for me."),
    ]
    turns, t = [], 0.5
    while t < 285:
        for speaker, text in lines:
            if t >= 285:
                break
            turns.append(Turn(speaker, t, text))
            t += 2.0 + len(text.split()) * 0.45
    return turns


def _speak(turn: Turn, workdir: Path) -> np.ndarray:
    raw = workdir / "turn.wav"
    out = workdir / "turn8k.raw"
    subprocess.run(
        ["espeak-ng", "-v", VOICES[turn.speaker], "-s", "160", "-w", str(raw), turn.text],
        check=True,
    )
    subprocess.run(
        ["sox", str(raw), *RAW_MONO_8K, str(out)],
        check=True,
    )
    return np.fromfile(out, dtype=np.int16).astype(np.float32) / 32768


def _hold_music(seconds: float, workdir: Path) -> np.ndarray:
    out = workdir / "music.raw"
    notes = ["C4", "E4", "G4", "A3", "F4", "D4", "G3", "B3"]
    pieces = []
    for i in range(int(seconds / 1.5) + 1):
        note = notes[i % len(notes)]
        pieces.append(["synth", "1.5", "pluck", note, "pluck", notes[(i + 2) % len(notes)]])
    cmd = ["sox", "-n", *RAW_MONO_8K, str(out)]
    # One synth effect chain per note, concatenated by sox's `:` effect-chain separator.
    for piece in pieces:
        cmd += [*piece, "tremolo", "5", "40", "vol", "0.35", ":"]
    subprocess.run(cmd[:-1], check=True)
    return (np.fromfile(out, dtype=np.int16).astype(np.float32) / 32768)[: int(seconds * RATE)]


def _onset(x: np.ndarray) -> tuple[int, int]:
    loud = np.flatnonzero(np.abs(x) > 0.02)
    return (int(loud[0]), int(loud[-1])) if loud.size else (0, len(x))


def _schedule(rendered: list[tuple[Turn, np.ndarray]]) -> list[tuple[float, np.ndarray]]:
    """Start time of every rendered turn: its `at`, or `after` seconds past the last one's end."""
    out: list[tuple[float, np.ndarray]] = []
    prev_end = 0.0
    for turn, x in rendered:
        first, last = _onset(x)
        at = turn.at if turn.after is None else prev_end + turn.after - first / RATE
        out.append((at, x))
        prev_end = at + last / RATE
    return out


def make_call(
    name: str,
    turns: list[Turn],
    out_dir: Path,
    hold: tuple[float, float] | None,
    bleed_db: float | None = None,
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rendered = [(t, _speak(t, work)) for t in turns]
        starts = [at for at, _ in _schedule(rendered)]
        length = max(at + len(x) / RATE for at, (_, x) in zip(starts, rendered, strict=True)) + 1.5
        channels = {
            "agent": np.zeros(int(length * RATE), np.float32),
            "customer": np.zeros(int(length * RATE), np.float32),
        }
        truth = []
        for at, (turn, x) in zip(starts, rendered, strict=True):
            a = int(at * RATE)
            channels[turn.speaker][a : a + len(x)] += x
            first, last = _onset(x)
            truth.append(
                {
                    "speaker": turn.speaker,
                    "start": round((a + first) / RATE, 3),
                    "end": round((a + last) / RATE, 3),
                    "text": turn.text,
                }
            )
        if hold:
            music = _hold_music(hold[1] - hold[0], work)
            a = int(hold[0] * RATE)
            channels["agent"][a : a + len(music)] += music
        if bleed_db is not None:
            # The agent heard faintly on the customer's line, 20 ms late (a hybrid's echo).
            delay = int(0.02 * RATE)
            leak = np.zeros_like(channels["agent"])
            leak[delay:] = channels["agent"][:-delay] * 10 ** (bleed_db / 20)
            channels["customer"] += leak
        stereo = np.stack([channels["agent"], channels["customer"]], axis=1)
        pcm = (np.clip(stereo, -1, 1) * 32767).astype(np.int16)
        raw = work / "call.raw"
        pcm.tofile(raw)
        subprocess.run(
            [
                "sox",
                "-r",
                str(RATE),
                "-c",
                "2",
                "-b",
                "16",
                "-e",
                "signed",
                "-t",
                "raw",
                str(raw),
                str(out_dir / f"{name}.flac"),
            ],
            check=True,
        )
    meta = {"layout": "stereo-agent-left", "duration": round(length, 3), "turns": truth}
    if hold:
        meta["hold"] = {"start": hold[0], "end": hold[1]}
    if bleed_db is not None:
        meta["bleed_db"] = bleed_db
    (out_dir / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--only", action="append")
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    calls = dict(CALLS, long5min=_long5min())
    wanted = args.only or list(CALLS)
    for name in wanted:
        hold = (19.0, 79.0) if name == "hold" else None
        make_call(name, calls[name], args.out_dir, hold, BLEED_DB.get(name))
        print(f"wrote {args.out_dir / name}.flac")


if __name__ == "__main__":
    main()
