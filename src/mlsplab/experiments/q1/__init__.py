"""Q1(b-d): IMDB sentiment with frozen word2vec features, and what the report says about it.

config.py    every constant and the typed configs (no heavy imports)
data.py      reviews -> seeded split -> word vectors -> token ids; duplicate audit
evaluate.py  losses, per-review predictions, length buckets, attention statistics
train.py     the runner of steps q1b/q1c/q1d (one training job per seed through the executor),
             SentimentRecipe (data, model, step, test measurements) and build_model
estimate.py  how long a full run will take here
baseline.py  TF-IDF + logistic regression on the same split (step q1-baseline)
linear.py    what the linear models share; selection.py: the one-standard-error choice of C
posteriors.py  the validation and test posteriors every Q1 result records
nbsvm.py     NBSVM, beyond the assignment (step q1x-nbsvm)
ensemble.py  the Q1 models combined out of fold, beyond the assignment (step q1x-ensemble)
compare.py   the measurements that compare the models (step q1-comparison)
summary.py   the report's answers for Q1(b), (c), (d), generated from metrics.json
summary_beyond.py  the report's part beyond Q1
figures.py   loss curves, attention heatmaps, length-bucket accuracy (drawn at report time)
cli.py       ``mlsplab sentiment``
"""
