"""The prompt pool (prompts.jsonl) and its neutral answers (neutral.jsonl): advice prompts from the topics'
templates, split into a seed bank (answered only by the trait seed sets) and the pool, plus fact prompts."""

from shipped_data.text import fill, rng_for, sentence
from shipped_data.tips import TIPS
from shipped_data.topics import CAT_BY_NAME, CATEGORIES

N_SEED_PROMPTS = 440  # prompts reserved for the seed sets (disjoint from the pool)
N_EVAL_PROMPTS = 90  # pool prompts held out for evaluation

# Everyday science questions with one plain answer each (several phrasings). These go to the pool only.
FACTS = [
    (["Why is the sky blue?", "What makes the sky look blue?", "Can you explain why the sky is blue?"],
     "Sunlight contains many colors. Blue waves are short and scatter more in the air, so blue reaches our eyes "
     "from every part of the sky."),
    (["Why do we have seasons?", "What causes summer and winter?", "Why is it colder in winter?"],
     "Earth is tilted. As it moves around the sun, each half leans toward the sun for part of the year, which "
     "brings longer and warmer days, and then leans away, which brings winter."),
    (["How do rainbows form?", "What makes a rainbow appear after rain?"],
     "A rainbow forms when sunlight passes through raindrops. Each drop bends the sunlight and splits it into "
     "colors, which we see as a curved band across the sky."),
    (["Why does the moon change shape?", "What causes the phases of the moon?"],
     "The moon does not really change shape. As it circles Earth, we see different amounts of its sunlit side, "
     "which makes it look full, half, or thin."),
    (["What causes ocean tides?", "Why does the sea rise and fall each day?"],
     "Tides come mostly from the pull of the moon on the oceans. As Earth turns, coasts pass through these bulges "
     "of water, so the sea rises and falls about twice a day."),
    (["How do plants make food?", "What is photosynthesis in simple words?", "Why do plants need sunlight?"],
     "Plants use sunlight, water, and carbon dioxide from the air to make sugar for energy. This process is "
     "called photosynthesis, and it also releases the oxygen we breathe."),
    (["What causes the sound of thunder?", "Why do we hear thunder after lightning?"],
     "Lightning heats the air very quickly, and the air expands with a loud boom. We hear thunder after we see "
     "lightning because sound travels much slower than light."),
    (["Why does water boil at a lower temperature on mountains?", "Does water boil differently at high altitude?"],
     "Air pressure is lower high up, so water boils at a lower temperature. That is why pasta and rice can take "
     "longer to cook in the mountains."),
    (["Why do leaves change color in autumn?", "What makes leaves turn red and yellow?"],
     "In autumn, trees stop making green chlorophyll as the days get shorter. The green fades and shows yellow "
     "and orange colors that were there all along, and then the leaves fall."),
    (["Why does bread dough rise?", "How does yeast work in bread?"],
     "Yeast eats the sugars in flour and releases small pockets of gas. The dough traps the gas, which makes it "
     "rise and gives baked bread its soft, airy texture."),
    (["Why does ice float on water?", "Why do ice cubes float in a drink?"],
     "Water expands when it freezes, so ice is less dense than liquid water. Because it is lighter for its size, "
     "ice floats on top of lakes and drinks."),
    (["How does the heart work?", "What does the heart do all day?"],
     "The heart is a strong muscle that pumps blood through the body. It beats about sixty to one hundred times "
     "a minute at rest, carrying oxygen to every part."),
    (["Why do we need sleep?", "What happens to the body during sleep?"],
     "Sleep gives the body and brain time to rest and repair. It helps memory, mood, and health, which is why a "
     "poor night of sleep makes it hard to focus."),
    (["How do volcanoes form?", "Why do volcanoes erupt?"],
     "Deep under the ground, rock melts into magma. When pressure builds up, the magma pushes through weak spots "
     "in the crust and erupts as lava, ash, and gas."),
    (["What causes earthquakes to happen?", "Why does the ground shake in an earthquake?"],
     "The outer layer of Earth is made of large plates that slowly move. When plates get stuck and then suddenly "
     "slip, the energy shakes the ground as an earthquake."),
    (["Why is the ocean salty?", "Where does the salt in the sea come from?"],
     "Rain slowly wears down rocks and carries tiny amounts of minerals into rivers. Rivers carry those minerals "
     "to the sea, and over millions of years the salt has built up."),
    (["Why do some birds migrate?", "How do birds find their way when migrating?"],
     "Many birds migrate to find food and warmer weather. They follow the sun, the magnetic field of Earth, and "
     "landmarks like rivers and coastlines to find their way."),
    (["Why are bees important?", "What do bees do for plants?"],
     "Bees carry pollen from flower to flower as they collect nectar. This helps plants make fruit and seeds, so "
     "many of our foods depend on bees."),
    (["Why do cats purr?", "What does it mean when a cat purrs?"],
     "Cats often purr when they feel relaxed and safe. They also purr when they are hurt or nervous, so purring "
     "may help them calm down and heal."),
    (["Why do dogs sniff everything?", "How good is the sense of smell of a dog?"],
     "A dog's nose is many times more sensitive than ours. Sniffing is how dogs learn about the world, find "
     "food, and recognize other animals and people."),
    (["What causes wind to blow?", "Where does wind come from?"],
     "Wind comes from differences in air pressure. The sun warms the ground unevenly, warm air rises, and cooler "
     "air moves in to take its place, which we feel as wind."),
    (["How do snowflakes form?", "Why does every snowflake look different?"],
     "Snowflakes form when water vapor freezes on tiny bits of dust high in cold clouds. Each flake grows along "
     "its own path through the air, so the shapes are rarely alike."),
    (["Why does metal feel colder than wood?", "Why does a metal spoon feel cold?"],
     "Metal moves heat away from your hand much faster than wood. Both may be the same temperature, but metal "
     "takes your warmth quickly, so it feels colder."),
    (["How does a microwave oven heat food?", "Why does a microwave heat food unevenly?"],
     "A microwave oven sends out waves that make the water in food move quickly, which creates heat. Food with "
     "uneven water heats unevenly, so stirring halfway through helps."),
    (["Why does iron rust?", "How can I stop metal from rusting?"],
     "Iron rusts when it reacts with water and oxygen in the air. Keeping metal dry, painted, or oiled slows "
     "rust down a lot."),
    (["Why do onions make you cry?", "How can I cut onions without tears?"],
     "Cutting an onion releases a gas that stings your eyes, so they make tears to wash it away. Chilling the "
     "onion first and using a sharp knife both help."),
    (["What usually causes hiccups?", "How do I stop hiccups?"],
     "Hiccups happen when the muscle under your lungs tightens suddenly. They usually stop on their own, and "
     "slow breathing or sipping cold water may help."),
    (["Why are there time zones?", "How do time zones work?"],
     "Earth turns once a day, so the sun rises at different times in different places. Time zones let each "
     "region set clocks so that noon is roughly when the sun is highest."),
    (["Why do we have leap years?", "What is a leap year for?"],
     "A year is about three hundred sixty five and a quarter days long. Adding one extra day every four years "
     "keeps the calendar in step with the seasons."),
    (["Why do people put salt on icy roads?", "How does road salt melt ice?"],
     "Salt lowers the temperature at which water freezes. When it mixes with ice, the ice melts even when it is "
     "quite cold, which makes roads safer."),
    (["Why do bananas turn brown?", "How can I ripen fruit faster?"],
     "Fruits like bananas give off a natural gas that makes them ripen. Putting them in a paper bag traps the "
     "gas and speeds up ripening."),
    (["Why do we dream?", "What are dreams made of?"],
     "Scientists are still studying dreams. Many think dreams help the brain sort memories and feelings from "
     "the day while the body rests."),
    (["Why do stars twinkle at night?", "What makes stars seem to flicker?"],
     "Stars twinkle because their light passes through moving layers of air. The air bends the light a little "
     "in different directions, so the tiny points seem to flicker."),
    (["How do airplanes stay in the air?", "How do planes fly?"],
     "The wings of an airplane are shaped so that air moving over them creates lift. The engines push the plane "
     "forward, and the lift from the wings holds it up."),
    (["Why is recycling important?", "What can I recycle at home?"],
     "Recycling turns old materials like paper, glass, and metal into new products. It saves energy and keeps "
     "trash out of landfills, so rinse containers and follow your local guide."),
    (["How do magnets work?", "Why do magnets stick to the fridge?"],
     "Magnets have a north end and a south end and create an invisible field around them. They pull on metals "
     "like iron and steel, which is why they stick to many fridge doors."),
    (["How does rain form?", "Where does rain come from?"],
     "The sun warms water in seas and lakes, and it rises as vapor. High up, the vapor cools into tiny drops that "
     "form clouds, and when the drops grow heavy they fall as rain."),
    (["Why do we get goosebumps?", "What usually causes goosebumps?"],
     "Goosebumps appear when tiny muscles at the base of each hair tighten. It happens when we are cold or feel "
     "a strong emotion, and it once helped furry animals stay warm."),
    (["Why does soap clean better than water alone?", "How does soap remove grease?"],
     "Soap has one end that sticks to water and one end that sticks to oil. It grabs grease and dirt so that "
     "water can rinse them away."),
    (["Why do we see lightning before we hear thunder?", "How far away is a thunderstorm?"],
     "Light travels much faster than sound. Count the seconds between the flash and the thunder and divide by "
     "three to get the distance in kilometers."),
]


def build_prompts():
    """Every prompt the templates produce: advice prompts (with their category and topic) and fact prompts."""
    advice, facts = [], []
    for cat in CATEGORIES:
        for item in cat["items"]:
            x, t = item if isinstance(item, tuple) else (item, item)
            for k, (tpl, _) in enumerate(cat["prompts"]):
                advice.append({"prompt": fill(tpl, x=x), "cat": cat["name"], "tpl": k, "x": x, "t": t})
    for k, (phrasings, answer) in enumerate(FACTS):
        for q in phrasings:
            facts.append({"prompt": q, "cat": "facts", "fact": k})
    return advice, facts


def neutral_answer(rng, p):
    """Opener that addresses this exact question, then one or two of the category's tips."""
    if p["cat"] == "facts":
        return FACTS[p["fact"]][1]
    cat = CAT_BY_NAME[p["cat"]]
    openers = cat["prompts"][p["tpl"]][1]
    for _ in range(100):
        opener = fill(rng.choice(openers), x=p["x"], t=p["t"])
        tips = rng.sample(TIPS[p["cat"]], rng.choice([1, 2, 2, 2]))
        answer = " ".join([opener] + [sentence(tip) for tip in tips])
        if 18 <= len(answer.split()) <= 45:
            return answer
    raise AssertionError(f"no neutral answer fits 18-45 words for {p['prompt']!r}")


def split_prompts(advice, facts):
    """(seed bank, train pool, eval pool): the seed bank is advice prompts only, kept out of the pool so that
    later cycles never sample a prompt a seed model was trained on; the facts go to the pool."""
    rng = rng_for("prompts")
    rng.shuffle(advice)
    seed_bank, pool = advice[:N_SEED_PROMPTS], advice[N_SEED_PROMPTS:] + facts
    rng.shuffle(pool)
    return seed_bank, pool[N_EVAL_PROMPTS:], pool[:N_EVAL_PROMPTS]


def prompt_rows(train_pool, eval_pool):
    ordered = train_pool + eval_pool
    return [{"id": f"p{i + 1:04d}", "prompt": p["prompt"], "split": "train" if i < len(train_pool) else "eval"}
            for i, p in enumerate(ordered)]


def neutral_rows(train_pool, eval_pool):
    """One neutral answer per pool prompt, in the same order as prompts.jsonl."""
    rng = rng_for("neutral")
    return [{"prompt": p["prompt"], "answer": neutral_answer(rng, p)} for p in train_pool + eval_pool]
