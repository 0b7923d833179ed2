"""Neutral everyday topics: each category's items (what a question is about) and prompt templates, each
template with answer openers that address that exact question. {x}: the item as asked; {t}: the item as a
noun phrase (differs only for verb items); {X}/{T}: capitalised. The categories' advice is in tips.py.
"""

CATEGORIES = [
    {
        "name": "cooking",
        "items": ["pasta", "rice", "vegetable soup", "pancakes", "fresh bread", "an omelet", "a green salad",
                  "roast vegetables", "a simple curry", "oatmeal", "tomato sauce", "grilled fish",
                  "banana muffins", "fried rice", "scrambled eggs", "bean chili"],
        "prompts": [
            ("How do I make {x} at home?", [
                "Making {x} at home is simple if you follow a few clear steps.",
                "You can make {x} at home with basic tools and fresh ingredients."]),
            ("What is an easy way to make {x}?", [
                "An easy way to make {x} is to keep the recipe short and use what you already have.",
                "The easiest path to {x} is a short recipe with few ingredients."]),
            ("How can I make {x} taste better?", [
                "To make {x} taste better, season it in small steps and taste often.",
                "Flavor in {x} usually comes from salt, a little acid, and fresh herbs."]),
            ("What do I need to make {x}?", [
                "For {x}, you mostly need a few basic ingredients, a pan or pot, and some time.",
                "You do not need much for {x}: simple ingredients, one good pan, and a clear recipe."]),
            ("What mistakes should I avoid when making {x}?", [
                "A common mistake with {x} is cooking it on heat that is too high.",
                "When making {x}, people often rush, skip tasting, or forget the salt."]),
        ],
    },
    {
        "name": "food storage",
        "items": ["leftover rice", "fresh herbs", "cut fruit", "cooked chicken", "bread", "cheese",
                  "homemade soup", "salad greens", "eggs", "bananas", "onions", "potatoes", "berries",
                  "cooked pasta"],
        "prompts": [
            ("How should I store {x}?", [
                "Store {x} in a clean, sealed container in a cool place or in the fridge.",
                "The best way to store {x} is sealed, cool, and away from strong smells."]),
            ("How long can I keep {x} in the fridge?", [
                "How long {x} keeps depends on how fresh it was, so check the smell and look before eating.",
                "Sealed well, {x} usually keeps for a few days in the fridge, but check it before eating."]),
            ("How do I keep {x} fresh longer?", [
                "To keep {x} fresh longer, keep air and extra moisture away from it.",
                "Cool, dry, and sealed is the simple rule for keeping {x} fresh longer."]),
            ("Can I freeze {x}?", [
                "Many foods, including {x}, can be frozen, but the texture may change a little.",
                "Yes, you can usually freeze {x}, though it may be softer after it thaws."]),
        ],
    },
    {
        "name": "travel",
        "items": ["a weekend trip", "a long flight", "a train journey", "a road trip", "a camping trip",
                  "a city break", "a beach holiday", "a trip abroad", "a hiking trip", "a business trip",
                  "a family vacation", "a ski trip", "a bus tour", "a cruise"],
        "prompts": [
            ("How should I pack for {x}?", [
                "When packing for {x}, start with a list and bring only what you will really use.",
                "Pack for {x} with a short list, a few layers, and one small bag if you can."]),
            ("What should I plan before {x}?", [
                "Before {x}, plan your route, your budget, and where you will sleep.",
                "A little planning before {x} helps: tickets, a place to stay, and a rough daily plan."]),
            ("How can I save money on {x}?", [
                "To save money on {x}, book early and compare a few prices.",
                "You can save on {x} by traveling off season and cooking some of your own meals."]),
            ("Any tips for enjoying {x}?", [
                "To enjoy {x}, leave some free time and do not fill every hour.",
                "The best part of {x} is often the slow moments, so plan less and look around more."]),
            ("How do I stay comfortable on {x}?", [
                "Comfortable clothes, water, and snacks make {x} much easier.",
                "On {x}, comfort comes from good shoes, a warm layer, and enough rest."]),
        ],
    },
    {
        "name": "study",
        "items": ["math", "history", "Spanish", "French", "chemistry", "biology", "physics", "geography",
                  "grammar", "statistics", "economics", "music theory", "computer science", "algebra",
                  "art history"],
        "prompts": [
            ("How can I get better at {x}?", [
                "Getting better at {x} takes steady practice, a little every day.",
                "Most people improve at {x} through short daily practice and honest review."]),
            ("What is the best way to study {x}?", [
                "A good way to study {x} is to review in short sessions and test yourself often.",
                "For {x}, active study works best: practice problems, questions, and short reviews."]),
            ("How should I review {x} before a test?", [
                "Before a test on {x}, review your notes, practice old questions, and sleep well.",
                "To review {x} before a test, start early and focus on the topics you find hardest."]),
            ("Any tips for learning {x} on my own?", [
                "Learning {x} on your own works best with a clear plan and a good book.",
                "On your own, {x} is easier with a weekly schedule and small goals."]),
            ("How much time should I spend on {x} each day?", [
                "Even thirty minutes of {x} each day can make a real difference over time.",
                "For {x}, a short daily session is better than one long session each week."]),
        ],
    },
    {
        "name": "cleaning",
        "items": ["the kitchen sink", "the oven", "windows", "the bathroom", "a carpet", "the fridge",
                  "wooden floors", "the microwave", "a shower curtain", "leather shoes", "a cast iron pan",
                  "a stained shirt", "a mattress", "the stove top", "tile grout"],
        "prompts": [
            ("How do I clean {x}?", [
                "To clean {x}, start with warm water, a little soap, and a soft cloth.",
                "Cleaning {x} is easier than it looks if you go slowly and use mild products."]),
            ("What is the best way to clean {x}?", [
                "The best way to clean {x} is gently and often, before dirt builds up.",
                "For {x}, a mild cleaner, a soft cloth, and some patience work best."]),
            ("How often should I clean {x}?", [
                "Most people clean {x} every week or two, or sooner if it looks dirty.",
                "A quick clean of {x} each week is usually enough, with a deeper clean each month."]),
            ("How can I keep {x} clean longer?", [
                "To keep {x} clean longer, wipe up spills as soon as they happen.",
                "Small daily habits keep {x} clean longer than one big weekly effort."]),
            ("What should I use to clean {x}?", [
                "For {x}, a mild soap, warm water, and a soft cloth are usually enough.",
                "Most of the time, {x} needs no more than warm water and a little dish soap."]),
        ],
    },
    {
        "name": "organizing",
        "items": ["a closet", "a garage", "a small kitchen", "a messy desk", "a bookshelf", "a junk drawer",
                  "a pantry", "a kid's bedroom", "a home office", "a garden shed", "a bathroom cabinet",
                  "a small apartment", "a car trunk"],
        "prompts": [
            ("How should I organize {x}?", [
                "To organize {x}, take everything out first and sort it into groups.",
                "Organizing {x} starts with emptying it and deciding what really belongs there."]),
            ("Any tips for tidying {x}?", [
                "Tidying {x} is easier if you work in short sessions of about twenty minutes.",
                "For {x}, tidy one small area at a time instead of everything at once."]),
            ("How can I make {x} feel less cluttered?", [
                "To make {x} feel less cluttered, keep only what you use often.",
                "Clear surfaces and fewer items make {x} feel calm and open."]),
            ("Where do I start when clearing out {x}?", [
                "Start with the easiest part of {x}, like things you clearly do not need.",
                "When clearing out {x}, begin with trash and broken items, then sort the rest."]),
        ],
    },
    {
        "name": "gardening",
        "items": ["tomatoes", "basil", "roses", "lemon trees", "succulents", "houseplants", "carrots",
                  "strawberries", "sunflowers", "orchids", "peppers", "mint", "lettuce", "cucumbers",
                  "blueberries"],
        "prompts": [
            ("How do I grow {x}?", [
                "To grow {x}, give the plants good soil, steady water, and enough sun.",
                "Growing {x} is easiest with a sunny spot, loose soil, and regular care."]),
            ("How often should I water {x}?", [
                "Water {x} when the top of the soil feels dry, not on a fixed schedule.",
                "Most {x} like a deep watering once the soil has dried, with less in cool weather."]),
            ("What is the secret to growing healthy {x}?", [
                "The main secret with {x} is good soil, enough sun, and patience.",
                "Healthy plants like {x} mostly need steady care rather than any special method."]),
            ("Can I grow {x} indoors?", [
                "Many people grow {x} indoors near a sunny window, in pots that drain well.",
                "Yes, {x} can grow indoors if they get enough sun and are not overwatered."]),
            ("When should I plant {x}?", [
                "Most people plant {x} in spring, after the last cold nights have passed.",
                "The usual time to plant {x} is when the soil has warmed up in spring."]),
        ],
    },
    {
        "name": "pets",
        "items": ["a puppy", "an old dog", "a kitten", "a pet rabbit", "a goldfish", "a parrot", "a hamster",
                  "a rescue cat", "a guinea pig", "a turtle", "a lizard", "a budgie", "a senior cat", "a ferret"],
        "prompts": [
            ("How do I care for {x}?", [
                "Caring for {x} means fresh food, clean water, a safe home, and regular checkups.",
                "Good care for {x} comes down to a steady routine, a clean space, and attention."]),
            ("What should I feed {x}?", [
                "Feed {x} food made for that animal and its age, and ask a vet if you are unsure.",
                "The right food for {x} depends on its age and size, so a vet is the best guide."]),
            ("How can I keep {x} healthy and happy?", [
                "To keep {x} healthy and happy, give it attention, play time, and a steady routine.",
                "A happy, healthy life for {x} comes from good food, exercise, and calm handling."]),
            ("What do I need before getting {x}?", [
                "Before getting {x}, set up a safe space and buy the basic supplies it needs.",
                "Before you bring home {x}, find a local vet and prepare a quiet, safe corner."]),
            ("How much attention does {x} need?", [
                "Every animal is different, but {x} needs some time with you every single day.",
                "Plan a little time each day for {x}, with more in the first few weeks."]),
        ],
    },
    {
        "name": "fitness",
        "items": ["running", "swimming", "stretching", "cycling", "lifting weights", "yoga", "hiking", "rowing",
                  "dancing", "jumping rope", "pilates", "walking every day", "rock climbing", "tennis"],
        "prompts": [
            ("How do I get started with {x}?", [
                "To get started with {x}, begin slowly with short sessions a few times a week.",
                "Start {x} gently, with easy sessions and plenty of rest between them."]),
            ("How can I stay motivated with {x}?", [
                "Staying motivated with {x} is easier with a clear goal and a friend to join you.",
                "Motivation for {x} grows when you can see progress, so keep a simple log."]),
            ("What should a beginner know about {x}?", [
                "A beginner in {x} should focus on good form and slow, steady progress.",
                "In {x}, beginners do best when they start easy and listen to their body."]),
            ("Is {x} good for my health?", [
                "For most people, {x} is good for the heart, the muscles, and the mood.",
                "Yes, regular {x} can help your heart, your sleep, and your energy."]),
            ("How often should I practice {x}?", [
                "Two or three sessions of {x} each week is a good start for most people.",
                "For {x}, a few short sessions each week beat one long session."]),
        ],
    },
    {
        "name": "habits",
        "items": ["sleeping better", "drinking more water", "eating more vegetables", "cutting down on sugar",
                  "sitting less", "reducing screen time", "waking up earlier", "managing stress",
                  "eating breakfast", "cooking at home more", "taking short breaks", "going to bed earlier",
                  "spending more time outside"],
        "prompts": [
            ("What is a simple way to start {x}?", [
                "A simple way to start {x} is to pick one small change and do it every day.",
                "Start {x} with one easy step you can repeat tomorrow."]),
            ("Any tips for {x}?", [
                "For {x}, small steady changes work better than big sudden ones.",
                "With {x}, the key is to make the new habit easy and the old one harder."]),
            ("How can I make a habit of {x}?", [
                "To make a habit of {x}, tie it to something you already do each day.",
                "A habit of {x} forms through repetition, so keep it small and regular."]),
            ("Why does {x} matter?", [
                "{X} can help your energy, your mood, and your long term health.",
                "{X} matters because small daily choices add up over months and years."]),
        ],
    },
    {
        "name": "money",
        "items": ["saving money", "making a budget", "paying off debt", "building an emergency fund",
                  "spending less on food", "tracking expenses", "saving for a holiday", "cutting monthly bills",
                  "buying a used car", "planning a big purchase", "saving for retirement",
                  "splitting bills with roommates"],
        "prompts": [
            ("What is a good way to start {x}?", [
                "A good way to start {x} is to look at where your money goes each month.",
                "Begin {x} with a clear goal and a simple list of your income and costs."]),
            ("Any advice on {x}?", [
                "With {x}, a clear plan and small steady steps work best.",
                "For {x}, write things down, keep it simple, and review it often."]),
            ("How can I get better at {x}?", [
                "Getting better at {x} starts with writing down your numbers every week.",
                "You get better at {x} by checking your plan often and adjusting it calmly."]),
            ("What mistakes should I avoid when {x}?", [
                "When {x}, avoid guessing your numbers and making quick decisions.",
                "A common mistake when {x} is ignoring small costs that add up."]),
            ("How do I stay motivated when {x}?", [
                "Staying motivated when {x} is easier if you track your progress and note each step.",
                "When {x}, a visible goal, like a chart on the fridge, helps you keep going."]),
        ],
    },
    {
        "name": "work",
        "items": ["a job interview", "a team meeting", "a cover letter", "a salary talk", "a first day at a new job",
                  "a presentation", "a performance review", "a phone interview", "a group project",
                  "a difficult email", "a networking event", "a busy work week"],
        "prompts": [
            ("How should I prepare for {x}?", [
                "To prepare for {x}, plan your main points and practice them once or twice.",
                "Good preparation for {x} means knowing your goal and a few clear examples."]),
            ("Any tips for {x}?", [
                "For {x}, be clear, be on time, and keep your message simple.",
                "With {x}, calm preparation and good listening make the biggest difference."]),
            ("What mistakes should I avoid with {x}?", [
                "With {x}, avoid rushing, guessing, and leaving things to the last minute.",
                "The usual mistakes with {x} are talking too long and not listening."]),
            ("How can I feel calm before {x}?", [
                "Feeling nervous before {x} is normal, and slow breathing and good preparation help.",
                "To feel calm before {x}, prepare early, rest well, and arrive with time to spare."]),
            ("How do I follow up after {x}?", [
                "After {x}, send a short, friendly message within a day.",
                "A brief thank you note after {x} is polite and helps people remember you."]),
        ],
    },
    {
        "name": "hobbies",
        "items": ["painting", "knitting", "photography", "playing guitar", "chess", "drawing", "bird watching",
                  "woodworking", "pottery", "fishing", "sewing", "calligraphy", "learning piano", "origami"],
        "prompts": [
            ("What do I need to start {x}?", [
                "To start {x}, you only need a few basic tools and some free time.",
                "You can start {x} with simple, cheap supplies and a beginner guide."]),
            ("How can I improve at {x}?", [
                "To improve at {x}, practice a little often and study the work of others.",
                "Improving at {x} comes from regular practice and honest feedback."]),
            ("Is {x} hard to learn?", [
                "{X} takes some patience at first, but most people enjoy steady progress.",
                "{X} is not too hard to learn if you start with simple projects."]),
            ("How do I find time for {x}?", [
                "To find time for {x}, set aside a short, fixed slot each week.",
                "Even twenty minutes of {x} a few evenings a week adds up quickly."]),
            ("What is a good first project in {x}?", [
                "A good first project in {x} is something small you can finish in a day or two.",
                "In {x}, pick a first project that is simple and useful, so you stay interested."]),
        ],
    },
    {
        "name": "weather",
        "items": ["a heat wave", "a thunderstorm", "a snowy day", "heavy rain", "strong wind", "a foggy morning",
                  "a cold snap", "a humid summer", "an ice storm", "a hailstorm", "a dry spell", "a long winter"],
        "prompts": [
            ("How should I prepare for {x}?", [
                "To prepare for {x}, check the forecast and plan your day around it.",
                "Getting ready for {x} means checking the forecast and having basic supplies at home."]),
            ("What should I wear during {x}?", [
                "During {x}, wear layers you can add or remove and shoes with good grip.",
                "For {x}, choose clothes that match the temperature and keep you dry."]),
            ("How do I stay safe during {x}?", [
                "To stay safe during {x}, stay informed and avoid travel you do not need.",
                "Safety during {x} comes from planning ahead and staying indoors when it is worst."]),
            ("How can I keep my home comfortable during {x}?", [
                "During {x}, close curtains and doors to control the temperature at home.",
                "To keep your home comfortable during {x}, manage airflow and keep windows sealed."]),
            ("What should I keep in my car during {x}?", [
                "During {x}, keep water, a blanket, a phone charger, and a flashlight in your car.",
                "For {x}, a small car kit with water, snacks, and a warm layer is a good idea."]),
        ],
    },
    {
        "name": "tech",
        "items": ["a slow laptop", "weak wifi", "a full phone", "a noisy computer fan", "a printer that will not print",
                  "a frozen app", "too many emails", "a forgotten password", "a phone battery that dies fast",
                  "a sticky keyboard", "old files everywhere", "a loud fridge", "a flickering screen"],
        "prompts": [
            ("What can I do about {x}?", [
                "For {x}, start with the simple fixes, like restarting and checking for updates.",
                "With {x}, the easy steps come first: restart, update, and clear space."]),
            ("How do I deal with {x}?", [
                "Dealing with {x} usually starts with a restart and a quick check of the settings.",
                "You can often deal with {x} at home in a few minutes with some careful steps."]),
            ("Any tips for fixing {x}?", [
                "Most cases of {x} can be fixed at home with a few careful steps.",
                "To fix {x}, change one thing at a time and test after each step."]),
            ("Why do I keep having {x}?", [
                "Problems like {x} often come from old software, full storage, or a changed setting.",
                "When {x} keeps coming back, the cause is usually age, dust, or settings."]),
            ("Should I ask an expert about {x}?", [
                "Try the simple fixes for {x} first, and ask an expert only if they do not help.",
                "Most of the time you can handle {x} yourself before paying for help."]),
        ],
    },
    {
        "name": "social",
        "items": ["making friends in a new city", "hosting a dinner party", "planning a birthday party",
                  "writing a thank you note", "meeting new neighbors", "keeping in touch with old friends",
                  "giving a toast", "choosing a gift", "planning a picnic", "organizing a game night",
                  "talking to new people", "planning a family reunion"],
        "prompts": [
            ("Any tips for {x}?", [
                "For {x}, a little planning and a warm, simple approach go a long way.",
                "With {x}, keep it simple and focus on the people rather than the details."]),
            ("What is a good way to go about {x}?", [
                "A good way to go about {x} is to keep it simple and start early.",
                "Go about {x} one small step at a time, and ask others to help."]),
            ("How do I get better at {x}?", [
                "Getting better at {x} comes with practice, so try it more often in small ways.",
                "You get better at {x} by doing it often and noticing what people enjoy."]),
            ("What should I keep in mind when {x}?", [
                "When {x}, remember that people mostly want to feel welcome and relaxed.",
                "When {x}, keep in mind that kindness matters more than getting every detail right."]),
        ],
    },
    {
        "name": "shopping",
        "items": ["a mattress", "a laptop", "running shoes", "a winter coat", "a used bike", "a new sofa",
                  "a kitchen knife", "a backpack", "a phone", "a desk chair", "a tent", "a blender",
                  "a car seat for a child", "a rug"],
        "prompts": [
            ("What should I look for when buying {x}?", [
                "When buying {x}, look at quality, comfort, and what other buyers say.",
                "The main things to check in {x} are build quality, fit for your needs, and price."]),
            ("How do I choose {x}?", [
                "To choose {x}, decide what you need most and set a budget first.",
                "Choosing {x} is easier with a short list of must haves and a price limit."]),
            ("Any tips for buying {x} on a budget?", [
                "To buy {x} on a budget, compare prices and consider a good used one.",
                "On a budget, look for {x} during seasonal sales or from a trusted secondhand seller."]),
            ("Is it worth paying more for {x}?", [
                "Paying more for {x} can be worth it if you will use it every day.",
                "A higher price for {x} is worth it only when it buys real quality or comfort."]),
            ("When is the best time to buy {x}?", [
                "The best time to buy {x} is often during seasonal sales.",
                "Prices for {x} often drop at the end of a season or when new models arrive."]),
        ],
    },
    {
        "name": "parenting",
        "items": ["bedtime routines", "picky eaters", "homework time", "screen time for kids", "rainy day activities",
                  "toddler tantrums", "a first day of school", "teaching kids to save", "sibling fights",
                  "kids and chores", "reading with young kids", "a long car ride with kids"],
        "prompts": [
            ("Any advice on {x}?", [
                "With {x}, calm routines and clear, simple limits help a lot.",
                "For {x}, patience and a steady routine usually work better than long talks."]),
            ("How can I handle {x} better?", [
                "To handle {x} better, stay calm and keep the same routine each day.",
                "Handling {x} gets easier when kids know what to expect."]),
            ("What works well for {x}?", [
                "What works well for {x} is patience, clear limits, and a little fun.",
                "Many families find that short, playful routines work well for {x}."]),
            ("How do other parents manage {x}?", [
                "Many parents manage {x} with a steady routine and kind words for small steps.",
                "Other parents often handle {x} by planning ahead and staying calm."]),
            ("Is it normal to struggle with {x}?", [
                "Yes, many parents find {x} hard at times, and that is normal.",
                "Struggling with {x} is very common, and small changes often help."]),
        ],
    },
    {
        "name": "writing",
        "items": ["an essay", "a speech", "a formal letter", "a short story", "a blog post", "a report",
                  "a summary", "a birthday card message", "a recipe", "a complaint letter", "meeting notes",
                  "a personal statement"],
        "prompts": [
            ("How do I start writing {x}?", [
                "To start writing {x}, jot down your main idea and a few points to support it.",
                "Start {x} by writing a rough first line, then fix it later."]),
            ("Any tips for writing {x}?", [
                "When writing {x}, keep sentences short and each paragraph focused on one idea.",
                "Good {x} usually has a clear purpose, simple words, and a short ending."]),
            ("How can I make {x} clearer?", [
                "To make {x} clearer, cut extra words and put the main point first.",
                "Clear {x} comes from short sentences, plain words, and a clear order."]),
            ("How long should {x} be?", [
                "The length of {x} depends on its reader, but shorter and clear is usually better.",
                "Keep {x} as short as it can be while still saying what matters."]),
            ("What should I avoid when writing {x}?", [
                "When writing {x}, avoid long sentences, vague words, and too many ideas at once.",
                "The most common problem in {x} is trying to say too much."]),
        ],
    },
    {
        "name": "home repair",
        # (as asked, as a noun phrase)
        "items": [("paint a room", "painting a room"), ("hang a shelf", "hanging a shelf"),
                  ("fix a leaky tap", "fixing a leaky tap"), ("unclog a drain", "unclogging a drain"),
                  ("patch a small hole in a wall", "patching a hole in a wall"),
                  ("assemble flat pack furniture", "assembling flat pack furniture"),
                  ("replace a door handle", "replacing a door handle"),
                  ("seal a drafty window", "sealing a drafty window"),
                  ("fix a squeaky door", "fixing a squeaky door"), ("put up curtains", "putting up curtains"),
                  ("change a bike tire", "changing a bike tire"), ("fix a running toilet", "fixing a running toilet"),
                  ("hang a heavy mirror", "hanging a heavy mirror"), ("tile a small wall", "tiling a small wall")],
        "prompts": [
            ("How do I {x}?", [
                "To {x}, gather your tools first and follow the steps slowly.",
                "It is not hard to {x} if you prepare well and take your time."]),
            ("What is the easiest way to {x}?", [
                "The easiest way to {x} is to prepare well and not rush the job.",
                "To {x} the easy way, watch a short guide first and lay everything out."]),
            ("What tools do I need to {x}?", [
                "To {x}, you usually need basic hand tools and a bit of patience.",
                "Most people can {x} with a screwdriver, a tape measure, and the right parts."]),
            ("Can a beginner {x} alone?", [
                "Yes, most beginners can {x} alone with care and a good guide.",
                "A beginner can usually {x} alone, as long as they go slowly and stay safe."]),
        ],
    },
]

CAT_BY_NAME = {c["name"]: c for c in CATEGORIES}
