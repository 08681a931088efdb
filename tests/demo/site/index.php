<?php
// The demo's protected page: who is logged in, through which federation and level, every
// variable Sesame handed to PHP, the claims, and a logout button. Reads only $_SERVER, as any
// application behind Sesame does.
header('Cache-Control: no-store');
header('Content-Type: text/html; charset=utf-8');

function h($value) {
    // ENT_SUBSTITUTE: a value that is not valid UTF-8 shows U+FFFD instead of an empty cell.
    return htmlspecialchars((string) $value, ENT_QUOTES | ENT_SUBSTITUTE | ENT_HTML5, 'UTF-8');
}

// The demo names its providers fc and pc (tests/demo/demo.py); a real site knows its own.
$federations = [
    'fc' => ['FranceConnect', '/logout', 'ProConnect (agents)', '/agents/'],
    'pc' => ['ProConnect', '/agents/logout', 'FranceConnect (usagers)', '/demarches/'],
];
$provider = $_SERVER['SESAME_PROVIDER'] ?? '';
[$federation, $logout, $other_label, $other_url] = $federations[$provider]
    ?? [$provider, '/logout', '', ''];
$name = trim(($_SERVER['SESAME_GIVEN_NAME'] ?? '') . ' ' . ($_SERVER['SESAME_FAMILY_NAME'] ?? ''));

$sesame = [];
$others = [];
foreach ($_SERVER as $key => $value) {
    if (!is_string($value)) {
        continue;  // argv, REQUEST_TIME...: PHP's own, not received
    }
    if (str_starts_with($key, 'SESAME_') || $key === 'REMOTE_USER') {
        $sesame[$key] = $value;
    } else {
        $others[$key] = $value;
    }
}
ksort($sesame);
ksort($others);
$claims = json_decode($_SERVER['SESAME_CLAIMS'] ?? 'null', true);
?>
<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Sesame — <?= h($name) ?></title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.name { font-family: monospace; white-space: nowrap; }
td.value { font-family: monospace; word-break: break-all; }
button { padding: .6rem 1.2rem; border-radius: .3rem; border: 0; background: #000091; color: #fff; }
</style>
</head>
<body>
<h1 id="who">Connecté : <?= h($name) ?></h1>
<p>Par <strong id="federation"><?= h($federation) ?></strong>
   (fournisseur <code><?= h($provider) ?></code>), niveau <strong id="acr"><?= h($_SERVER['SESAME_ACR'] ?? '') ?></strong>.
   Identifiant stable pour l'application : <code><?= h($_SERVER['SESAME_USER'] ?? '') ?></code>.</p>

<form method="get" action="<?= h($logout) ?>">
<button type="submit" id="logout">Se déconnecter</button>
</form>
<?php if ($other_url !== ''): ?>
<p><a id="other-side" href="<?= h($other_url) ?>">Voir l'autre côté : <?= h($other_label) ?></a> ·
   <a href="/">Accueil</a></p>
<?php endif; ?>

<h2>Variables transmises par Sesame</h2>
<table id="sesame-variables">
<tr><th>Variable</th><th>Valeur</th></tr>
<?php foreach ($sesame as $key => $value): ?>
<tr><td class="name"><?= h($key) ?></td><td class="value"><?= h($value) ?></td></tr>
<?php endforeach; ?>
</table>

<?php if (is_array($claims)): ?>
<h2>Claims (<code>SESAME_CLAIMS</code> décodé)</h2>
<table id="claims">
<tr><th>Claim</th><th>Valeur</th></tr>
<?php foreach ($claims as $claim => $value): ?>
<tr><td class="name"><?= h($claim) ?></td><td class="value"><?= h(is_string($value) ? $value : json_encode($value, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES)) ?></td></tr>
<?php endforeach; ?>
</table>
<?php endif; ?>

<details>
<summary>Toutes les autres variables reçues par PHP (<?= count($others) ?>)</summary>
<table id="other-variables">
<tr><th>Variable</th><th>Valeur</th></tr>
<?php foreach ($others as $key => $value): ?>
<tr><td class="name"><?= h($key) ?></td><td class="value"><?= h($value) ?></td></tr>
<?php endforeach; ?>
</table>
</details>
</body>
</html>
