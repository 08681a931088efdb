<?php
// Inscription en crèche : le tarif dépend du quotient familial (CAF ou MSA), que Sesame a
// récupéré avec FranceConnect pendant la connexion (ligne `data QF ...` du fournisseur).
$demandeur = ($_SERVER['SESAME_GIVEN_NAME'] ?? '') . ' ' . ($_SERVER['SESAME_FAMILY_NAME'] ?? '');
$qf = null;
if (isset($_SERVER['SESAME_DATA_QF'])) {
    $reponse = json_decode($_SERVER['SESAME_DATA_QF'], true);
    $qf = $reponse['data']['quotient_familial'] ?? null;
}
// Pourquoi il manque : timeout, http_404 (pas de dossier), scope_not_granted (refusé)...
$raison = $_SERVER['SESAME_DATA_QF_ERROR'] ?? 'inconnue';
// Le tarif se calcule ici, jamais à partir d'un champ du formulaire que l'usager pourrait changer.
function tarif_horaire(int $valeur): string {
    foreach ([[600, '0,50'], [1200, '1,20'], [2000, '2,10']] as [$plafond, $tarif]) {
        if ($valeur <= $plafond) {
            return $tarif;
        }
    }
    return '3,00';
}
header('Content-Type: text/html; charset=utf-8');
?>
<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>Inscription en crèche</title></head>
<body>
<h1>Inscription en crèche</h1>
<p>Demandeur : <?= htmlspecialchars($demandeur) ?></p>
<?php if ($qf !== null): ?>
<p id="qf">Quotient familial <?= htmlspecialchars($qf['fournisseur']) ?>
  (<?= (int) $qf['mois'] ?>/<?= (int) $qf['annee'] ?>) : <?= (int) $qf['valeur'] ?> €,
  tarif horaire <?= tarif_horaire((int) $qf['valeur']) ?> €.</p>
<?php else: ?>
<p id="sans-qf">Quotient familial non récupéré (<?= htmlspecialchars($raison) ?>) :
  joignez une attestation de la CAF ou de la MSA, ou
  <a href="?sesame_data_refresh=1">récupérez vos données avec FranceConnect</a>.</p>
<?php endif; ?>
<form method="post">
  <label>Prénom de l'enfant <input name="prenom_enfant" required></label>
  <label>Date de naissance <input name="naissance_enfant" type="date" required></label>
  <button type="submit">Envoyer la demande</button>
</form>
</body>
</html>
